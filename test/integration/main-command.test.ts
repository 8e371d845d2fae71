import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monthPartition } from '../../src/retention/partitions.ts';
import type { RetentionSummary } from '../../src/activities/retention-activities.ts';
import { eventually } from '../support/eventually.ts';
import { freePort } from '../../src/temporal/free-port.ts';

/**
 * The README's main command, as a user runs it: `onramp start` in a child process on embedded
 * defaults (Temporal dev server + PGlite under ONRAMP_DATA_DIR), driven over HTTP and stopped by
 * SIGTERM, then started again on the same data dir. Linux only: it looks for leftover processes
 * in /proc.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const developerId = 'dev_main_command';
const signedUp = {
  id: 'evt_main_signed_up',
  type: 'developer.signed_up',
  developerId,
  occurredAt: '2026-11-01T10:00:00Z',
  properties: { email: 'ada@example.com', accountType: 'individual', acquisitionChannel: 'organic_search' },
};
const keyCreated = {
  id: 'evt_main_key_created',
  type: 'api_key.created',
  developerId,
  occurredAt: '2026-11-01T11:00:00Z',
  properties: { apiKey: 'sk_test_main_command', mode: 'test' },
};

// Everything this file starts lives under one temp root, so afterAll can find and remove it all.
const tempRoot = mkdtempSync(join(tmpdir(), 'onramp-main-command-'));
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
  // setpriv --pdeathsig should already have taken any dev server down with its parent.
  for (const { pid } of processesMentioning(tempRoot)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(tempRoot, { recursive: true, force: true });
});

interface Cli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `node --import tsx src/cli/main.ts …`: node itself is the child, so SIGTERM reaches it directly.
 * `viaBin`: the package's `onramp` executable (bin/onramp.mjs), which runs the sources in a child
 * of its own, as `npx onramp` does: a signal reaches the wrapper only, which must relay it.
 */
function runCli(args: string[], env: Record<string, string>, { viaBin = false } = {}): Cli {
  const child = spawn(process.execPath, [...(viaBin ? ['bin/onramp.mjs'] : ['--import', 'tsx', 'src/cli/main.ts']), ...args], {
    cwd: repoRoot,
    env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** This process's environment minus everything Onramp reads, so embedded mode is what runs. */
function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const name of Object.keys(base)) {
    if (/^(PORT|HOST|DATABASE_URL|TEMPORAL_ADDRESS|TEMPORAL_NAMESPACE|LOG_LEVEL|NODE_OPTIONS|ONRAMP_.*)$/.test(name)) delete base[name];
  }
  return { ...base, LOG_LEVEL: 'warn', ...env };
}

interface Ports {
  api: number;
  temporal: number;
  ui: number;
}

async function distinctFreePorts(): Promise<Ports> {
  const ports = new Set<number>();
  while (ports.size < 3) ports.add(await freePort());
  const [api, temporal, ui] = [...ports] as [number, number, number];
  return { api, temporal, ui };
}

function startEnv(dataDir: string, ports: Ports): Record<string, string> {
  return {
    ONRAMP_DATA_DIR: dataDir,
    PORT: String(ports.api),
    ONRAMP_TEMPORAL_PORT: String(ports.temporal),
    ONRAMP_TEMPORAL_UI_PORT: String(ports.ui),
  };
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Running {
  cli: Cli;
  apiUrl: string;
  uiUrl: string;
  ingestKey: string;
  /** The `temporal server start-dev` process `start` spawned. */
  devServerPid: number;
}

/** Starts `onramp start` and waits for its banner (the last thing it prints, once all is up). */
async function start(dataDir: string, ports: Ports, options: { viaBin?: boolean } = {}): Promise<Running> {
  const cli = runCli(['start'], startEnv(dataDir, ports), options);
  const exited = () => cli.child.exitCode !== null || cli.child.signalCode !== null;
  const banner = () => /^\s*Ingest key\s+\S+/m.test(cli.stdout());
  // First start: PGlite creation + workflow bundling, on 2 busy cores.
  await eventually(() => banner() || exited(), { until: (done) => done, timeout: 150_000, describe: () => `the banner of onramp start:\n${cli.stdout()}\n${cli.stderr()}` });
  if (!banner()) throw new Error(`onramp start exited (${cli.child.exitCode ?? cli.child.signalCode}) before its banner:\n${cli.stdout()}\n${cli.stderr()}`);
  const out = cli.stdout();
  const apiUrl = /^\s*API\s+(http:\/\/\S+)/m.exec(out)?.[1];
  const uiUrl = /^\s*Temporal\s+\S+\s+\(UI: (http:\/\/[^\s)]+)\)/m.exec(out)?.[1];
  // stdout is no terminal here (a pipe, like a log file): it says where the keys are, never what they are.
  const ingestKey = readFileSync(join(dataDir, 'ingest-key'), 'utf8').trim();
  expect(out).toMatch(new RegExp(`^ {2}Ingest key {3}stored in ${escapeRegExp(join(dataDir, 'ingest-key'))}$`, 'm'));
  expect(out).toMatch(new RegExp(`^ {2}Admin key {4}stored in ${escapeRegExp(join(dataDir, 'admin-key'))}$`, 'm'));
  expect(out).not.toContain(ingestKey);
  expect(out).not.toContain(readFileSync(join(dataDir, 'admin-key'), 'utf8').trim());
  expect(apiUrl, out).toBeDefined();
  expect(uiUrl, out).toBeDefined();
  const devServers = processesMentioning(dataDir).filter((p) => descendsFrom(p, cli.child.pid!) && p.cmdline.includes('start-dev'));
  expect(devServers, 'one dev server, started by onramp start').toHaveLength(1);
  return { cli, apiUrl: apiUrl!, uiUrl: uiUrl!, ingestKey, devServerPid: devServers[0]!.pid };
}

/** SIGTERM, then the README's promise: exit 0, promptly, nothing left running or listening. */
async function stopWithSigterm(running: Running, dataDir: string, ports: Ports): Promise<void> {
  running.cli.child.kill('SIGTERM');
  const exit = await Promise.race([running.cli.exited, sleep(30_000, 'timeout' as const)]);
  expect(exit, `no exit within 30 s of SIGTERM:\n${running.cli.stderr()}`).not.toBe('timeout');
  expect(exit, running.cli.stderr()).toEqual({ code: 0, signal: null });
  expect(running.cli.stderr()).toContain('SIGTERM: shutting down');
  expect(running.cli.stderr()).not.toContain('shutdown failed');

  expect(isRunning(running.devServerPid), `dev server ${running.devServerPid} still running`).toBe(false);
  expect(processesMentioning(dataDir).map((p) => `${p.pid} ${p.cmdline}`)).toEqual([]);
  // Nothing of it still holds a port: the API (0.0.0.0) and both dev server ports (127.0.0.1).
  await assertCanListen('0.0.0.0', ports.api);
  await assertCanListen('127.0.0.1', ports.temporal);
  await assertCanListen('127.0.0.1', ports.ui);
}

interface ProcessInfo {
  pid: number;
  ppid: number;
  state: string;
  cmdline: string;
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields we want follow the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { pid, ppid: Number(ppid), state: state!, cmdline };
  } catch {
    return undefined; // no such process (any more)
  }
}

/** A zombie has stopped running; it only waits for its (possibly non-reaping) parent. */
function isRunning(pid: number): boolean {
  const info = readProcess(pid);
  return info !== undefined && info.state !== 'Z';
}

/** Whether `info`'s process was started by `ancestor`, directly or through its children. */
function descendsFrom(info: ProcessInfo, ancestor: number): boolean {
  for (let pid = info.ppid; pid > 1; pid = readProcess(pid)?.ppid ?? 0) if (pid === ancestor) return true;
  return false;
}

/** Live processes whose command line names `path`: the dev server passes its SQLite file there. */
function processesMentioning(path: string): ProcessInfo[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .map((entry) => readProcess(Number(entry)))
    .filter((info): info is ProcessInfo => info !== undefined && info.state !== 'Z' && info.cmdline.includes(path));
}

async function assertCanListen(host: string, port: number): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

async function waitForHealthy(apiUrl: string): Promise<void> {
  const health = await eventually(
    async () => {
      const response = await fetch(`${apiUrl}/healthz`);
      return { status: response.status, body: await response.text() };
    },
    { until: (r) => r.status === 200, describe: 'GET /healthz answering 200' },
  );
  expect(JSON.parse(health.body)).toEqual({ status: 'ok' });
}

function postEvents(running: Running, events: unknown[]) {
  return fetch(`${running.apiUrl}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${running.ingestKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  });
}

async function getJourney(running: Running): Promise<{ status: number; body: any }> {
  const response = await fetch(`${running.apiUrl}/v1/developers/${developerId}/journey`, {
    headers: { authorization: `Bearer ${running.ingestKey}` },
  });
  return { status: response.status, body: await response.json() };
}

/** The path is asynchronous (outbox → dispatcher → Temporal → activity), so poll. */
async function waitForJourney(running: Running, done: (journey: any) => boolean): Promise<any> {
  const { body } = await eventually(() => getJourney(running), { until: ({ status, body }) => status === 200 && done(body), describe: `journey ${developerId} settled` });
  return body;
}

/** `onramp journey <id>`, finding the key in ONRAMP_DATA_DIR as the README says. */
async function journeyCli(dataDir: string, apiPort: number) {
  const cli = runCli(['journey', developerId, '--url', `http://127.0.0.1:${apiPort}`], { ONRAMP_DATA_DIR: dataDir });
  const exit = await Promise.race([cli.exited, sleep(60_000, 'timeout' as const)]);
  return { exit, stdout: cli.stdout(), stderr: cli.stderr() };
}

describe('onramp start (the main command)', () => {
  // Not created beforehand: start must create it.
  const dataDir = join(tempRoot, 'data');
  let ports: Ports;
  let first: Running;

  // Each test below reads the first run; the last one stops it and starts again.
  beforeAll(async () => {
    ports = await distinctFreePorts();
    first = await start(dataDir, ports);
  }, 180_000);
  afterAll(async () => {
    if (first && first.cli.child.exitCode === null && first.cli.child.signalCode === null) {
      first.cli.child.kill('SIGTERM');
      await first.cli.exited;
    }
  }, 60_000);

  /** The developer signed up (again: a duplicate changes nothing) and the journey at account_created. */
  async function signedUpJourney(): Promise<any> {
    const response = await postEvents(first, [signedUp]);
    expect(response.status).toBe(202);
    return waitForJourney(first, (j) => j.stage === 'account_created' && j.running === true);
  }

  it('prints the API URL, the Temporal UI URL and where it stored the ingest key in the data dir (not the key: stdout is no terminal)', async () => {
    expect(new URL(first.apiUrl).port).toBe(String(ports.api));
    expect(first.uiUrl).toBe(`http://127.0.0.1:${ports.ui}`);
    expect(first.ingestKey.length).toBeGreaterThanOrEqual(16);
    expect(readFileSync(join(dataDir, 'ingest-key'), 'utf8').trim()).toBe(first.ingestKey);
    // The UI it points to is there.
    expect((await fetch(first.uiUrl)).status).toBe(200);
  }, 60_000);

  it('serves GET /healthz with 200 {"status":"ok"}', async () => {
    await waitForHealthy(first.apiUrl);
  }, 60_000);

  it('stores the admin key owner-only (the banner says where) and serves the shipped rules as version 1 with it', async () => {
    const keyFile = join(dataDir, 'admin-key');
    const adminKey = readFileSync(keyFile, 'utf8').trim();
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'ingest-key')).mode & 0o777).toBe(0o600);
    const rules = await fetch(`${first.apiUrl}/v1/rules`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect(rules.status).toBe(200);
    expect(await rules.json()).toMatchObject({ version: 1, author: 'onramp', reason: 'initial rules from config/rules.yaml' });
    expect((await fetch(`${first.apiUrl}/v1/rules`, { headers: { authorization: `Bearer ${first.ingestKey}` } })).status).toBe(401);

    // `onramp rules history` finds the key in the data dir.
    const cli = runCli(['rules', 'history', '--url', `http://127.0.0.1:${ports.api}`], { ONRAMP_DATA_DIR: dataDir });
    const exit = await Promise.race([cli.exited, sleep(60_000, 'timeout' as const)]);
    expect(exit, cli.stderr()).toEqual({ code: 0, signal: null });
    expect(cli.stdout()).toMatch(/^v1 {2}\S+ {2}onramp {2}initial rules from config\/rules\.yaml\n$/);
  }, 90_000);

  it('records its API URL and process in the data dir (onramp.json): the CLI finds it there without --url, ONRAMP_API_URL or PORT', async () => {
    const recorded = JSON.parse(readFileSync(join(dataDir, 'onramp.json'), 'utf8'));
    expect(recorded).toMatchObject({ apiUrl: first.apiUrl, pid: first.cli.child.pid });
    const cli = runCli(['rules', 'history', '--json'], { ONRAMP_DATA_DIR: dataDir });
    const exit = await Promise.race([cli.exited, sleep(60_000, 'timeout' as const)]);
    expect(exit, cli.stderr()).toEqual({ code: 0, signal: null });
    expect(JSON.parse(cli.stdout())).toMatchObject([{ version: 1, author: 'onramp' }]);
  }, 90_000);

  it('accepts an event with the key from the data dir and runs the journey', async () => {
    const response = await postEvents(first, [signedUp]);
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 1, duplicates: 0, unattributed: 0, deleted: 0 });

    const journey = await waitForJourney(first, (j) => j.stage === 'account_created' && j.running === true);
    expect(journey.transitions).toMatchObject([{ from: null, to: 'account_created', causeEventId: signedUp.id }]);
  }, 60_000);

  it('runs the retention Schedule, visible in Temporal: every hour, its first round at once (the partitions ahead)', async () => {
    const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
    try {
      const client = new Client({ connection });
      const schedule = client.schedule.getHandle('onramp-request-retention');
      const described = await eventually(() => schedule.describe(), { until: (d) => d.info.recentActions.length > 0, describe: 'the Schedule ran once' });
      expect(described.spec.intervals).toMatchObject([{ every: 3_600_000 }]);
      expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'requestRetention' });
      const { workflowId, firstExecutionRunId } = described.info.recentActions[0]!.action.workflow;
      const round: RetentionSummary = await client.workflow.getHandle(workflowId, firstExecutionRunId).result();
      expect(round.created).toContain(monthPartition(new Date()).name);
    } finally {
      await connection.close();
    }
  }, 90_000);

  it('`onramp journey <id>` prints the journey, with the key from the data dir', async () => {
    await signedUpJourney();
    const { exit, stdout, stderr } = await journeyCli(dataDir, ports.api);
    expect(exit, stderr).toEqual({ code: 0, signal: null });
    expect(stdout).toContain(developerId);
    expect(stdout).toMatch(/stage: Account created   /);
  }, 90_000);

  it('stops cleanly on SIGTERM (exit 0, no dev server left behind), starts again (through the onramp executable) on the same data dir with the same key, the journey carries on, and a SIGTERM to the executable stops it as cleanly', async () => {
    const journeyBeforeRestart = await signedUpJourney();
    await stopWithSigterm(first, dataDir, ports);
    // Stopped: no record of a running instance left for the CLI to find.
    expect(existsSync(join(dataDir, 'onramp.json'))).toBe(false);
    // The second time through the `onramp` executable, whose SIGTERM must stop what it started.
    const second = await start(dataDir, ports, { viaBin: true });
    try {
      expect(second.ingestKey).toBe(first.ingestKey);
      await waitForHealthy(second.apiUrl);
      // The rules file is version 1 once: a restart stores no second version.
      const adminKey = readFileSync(join(dataDir, 'admin-key'), 'utf8').trim();
      const history = await fetch(`${second.apiUrl}/v1/rules/history`, { headers: { authorization: `Bearer ${adminKey}` } });
      expect(((await history.json()) as { versions: { version: number }[] }).versions.map((v) => v.version)).toEqual([1]);

      const { status, body } = await getJourney(second);
      expect(status).toBe(200);
      expect(body.stage).toBe('account_created');
      expect(body.running).toBe(true);
      expect(body.stages).toEqual(journeyBeforeRestart.stages);
      expect(body.transitions).toEqual(journeyBeforeRestart.transitions);

      // The stored event is still known: sending it again changes nothing.
      const again = await postEvents(second, [signedUp]);
      expect(again.status).toBe(202);
      expect(await again.json()).toEqual({ accepted: 0, duplicates: 1, unattributed: 0, deleted: 0 });

      const next = await postEvents(second, [keyCreated]);
      expect(next.status).toBe(202);
      expect(await next.json()).toEqual({ accepted: 1, duplicates: 0, unattributed: 0, deleted: 0 });
      const advanced = await waitForJourney(second, (j) => j.stage === 'credential_provisioned');
      expect(advanced.running).toBe(true);
      expect(advanced.transitions).toHaveLength(2);
      expect(advanced.transitions[0]).toEqual(journeyBeforeRestart.transitions[0]);
      expect(advanced.transitions[1]).toMatchObject({ from: 'account_created', to: 'credential_provisioned', causeEventId: keyCreated.id });
    } finally {
      await stopWithSigterm(second, dataDir, ports);
    }
  }, 300_000);
});

describe('onramp start with a bad environment', () => {
  it('exits with code 2 naming the variable, before starting anything', async () => {
    const dataDir = join(tempRoot, 'bad-env');
    const ports = await distinctFreePorts();
    const cli = runCli(['start'], { ...startEnv(dataDir, ports), PORT: 'notaport' });
    const exit = await Promise.race([cli.exited, sleep(60_000, 'timeout' as const)]);
    expect(exit, cli.stderr()).toEqual({ code: 2, signal: null });
    expect(cli.stderr()).toMatch(/^\s*PORT:/m);
    expect(cli.stdout()).not.toContain('Onramp is running');
    // Nothing was started or created.
    expect(existsSync(dataDir)).toBe(false);
    expect(processesMentioning(dataDir)).toEqual([]);
    await assertCanListen('127.0.0.1', ports.temporal);
  }, 90_000);
});
