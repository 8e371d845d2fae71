import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { simpleParser, type ParsedMail } from 'mailparser';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { journeyWorkflowId } from '../../workflows/journey-messages.ts';
import { startProductionTemporal, type ProductionTemporal } from '../../src/temporal/production-server.ts';
import { eventually } from './eventually.ts';
import { freePort } from '../../src/temporal/free-port.ts';
import { ADMIN_KEY, INGEST_KEY } from './onramp-harness.ts';
import { SIGNING_SECRET } from './nudge-deps.ts';
import { createTestDatabase, type TestDatabase } from './test-databases.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SETPRIV = '/usr/bin/setpriv';
const READY_TIMEOUT_MS = 90_000;
/**
 * Connections to PostgreSQL (100 by default, shared by three test files at a time): each Onramp
 * process's pool (ONRAMP_DATABASE_CONNECTIONS) and each pool of Temporal's default store. Left at
 * their defaults (10 and 20), one topology alone held 87 and CI's runs met "too many clients".
 */
export const PROCESS_CONNECTIONS = 3;
const TEMPORAL_CONNECTIONS = 3;

/** What a journey's Temporal history says about who ran it and what was retried. */
export interface JourneyHistory {
  /** The pid of the worker that completed each workflow task, in order. */
  completedBy: number[];
  /** Workflow tasks that timed out (given to a worker that died). */
  tasksTimedOut: number;
  /** Each regular activity that started: its type, its (last) attempt and the failure before it. */
  activities: { type: string; attempt: number; lastFailure?: string }[];
  /** The ids of the events each signal brought the journey, in the order the server took them. */
  signaled: string[][];
}

interface OnrampProcess {
  name: string;
  child: ChildProcess;
  log: string;
  ended: string | undefined;
  exited: Promise<void>;
}

export interface ProductionTopologyOptions {
  /** More environment for the api and worker processes (SLACK_BOT_TOKEN, SLACK_API_URL …). */
  env?: Record<string, string>;
  /** How many `api` processes to run, each on its own port, all on the one database and Temporal (default 1). */
  apis?: number;
}

/**
 * Test seam on the capturing SMTP server: called with each message once it is received whole and
 * recorded (it is in `emails()`), with its SMTP session; the answer to DATA (250) waits for the
 * promise returned. Holding it models a mail server that has the message but has not said so yet;
 * `drop()` closes the session's connection without an answer (a relay that crashed after queueing
 * the message).
 */
export type SmtpDataHook = (mail: ParsedMail, session: { remotePort: number; drop: () => void }) => Promise<void> | void;

/**
 * docker-compose.yml's topology as plain processes, for tests: a PostgreSQL database for Onramp
 * (TEST_DATABASE_URL's server), the production Temporal server on two more databases of that
 * server, Onramp's `api` (or several, `apis`) and two `worker`s as separate OS processes run through the real CLI
 * (`node --import tsx src/cli/main.ts api|worker`), and a local SMTP server capturing what they send.
 * Each process logs to a file in `dir`; a failure to start reports the tail of its log.
 */
export class ProductionTopology {
  /** Each api process's base URL, in order (`apiUrl` is the first). */
  readonly apiUrls: string[] = [];
  /** Onramp's database, for assertions (transition rows …). */
  pool!: pg.Pool;
  readonly dir = mkdtempSync(join(tmpdir(), 'onramp-production-'));
  readonly workers: (OnrampProcess | undefined)[] = [undefined, undefined];
  /** Each worker's own metrics and health port (ONRAMP_WORKER_METRICS_PORT), as compose gives it one. */
  readonly workerMetricsPorts: (number | undefined)[] = [undefined, undefined];
  private readonly apis: OnrampProcess[] = [];
  private database: TestDatabase | undefined;
  private temporal: ProductionTemporal | undefined;
  private smtp: SMTPServer | undefined;
  private smtpPort = 0;
  private readonly mails: ParsedMail[] = [];
  /** See SmtpDataHook; unset: every message is answered at once. */
  onSmtpData: SmtpDataHook | undefined;

  constructor(private readonly options: ProductionTopologyOptions = {}) {}

  async start(): Promise<this> {
    try {
      const adminUrl = process.env.TEST_DATABASE_URL;
      if (!adminUrl) throw new Error('TEST_DATABASE_URL is not set');
      this.database = await createTestDatabase('postgres');
      this.pool = new pg.Pool({ connectionString: this.database.url, max: 2 });
      const url = new URL(adminUrl);
      // Temporal's postgres12 plugin connects over TCP with a password.
      if (!url.hostname || url.searchParams.has('host'))
        throw new Error(`the production Temporal server needs TEST_DATABASE_URL with a TCP host and a password, not a Unix socket: ${url.host || url.searchParams.get('host')}`);
      this.temporal = await startProductionTemporal({
        postgres: { host: url.hostname, port: Number(url.port || 5432), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) },
        databasePrefix: new URL(this.database.url).pathname.slice(1),
        dir: join(this.dir, 'temporal'),
        maxConnections: TEMPORAL_CONNECTIONS,
      });
      await this.startSmtp();
      for (let i = 0; i < (this.options.apis ?? 1); i++) {
        const url = `http://127.0.0.1:${await freePort()}`;
        this.apis.push(
          await this.spawn(i === 0 ? 'api' : `api${i}`, ['api'], { PORT: new URL(url).port }, async (p) => {
            if (!/"msg":"api listening"/.test(readLog(p.log))) return false;
            return (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true;
          }),
        );
        this.apiUrls.push(url);
      }
      for (const i of [0, 1]) await this.startWorker(i);
      return this;
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  get apiUrl(): string {
    return this.apiUrls[0] ?? '';
  }

  get temporalAddress(): string {
    return this.temporal!.address;
  }

  /** The port of the capturing SMTP server (SMTP_URL). */
  get smtpServerPort(): number {
    return this.smtpPort;
  }

  /**
   * Which worker (index) holds the TCP connection from 127.0.0.1:`localPort` to port `remotePort`
   * (e.g. an SMTP session or a Slack request, by the client port the server saw): the socket's
   * inode from /proc/net/tcp{,6}, then the worker whose /proc/<pid>/fd links to it. Linux only;
   * undefined when no worker has it (any more).
   */
  workerOwningConnection(localPort: number, remotePort: number): number | undefined {
    const inodes = new Set<string>();
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      for (const line of readLog(table).split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields.length < 10) continue;
        const port = (address: string) => Number.parseInt(address.split(':').at(-1)!, 16);
        if (port(fields[1]!) === localPort && port(fields[2]!) === remotePort) inodes.add(fields[9]!);
      }
    }
    if (inodes.size === 0) return undefined;
    for (const [i, worker] of this.workers.entries()) {
      if (!worker || worker.ended || worker.child.pid === undefined) continue;
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${worker.child.pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        let link: string;
        try {
          link = readlinkSync(`/proc/${worker.child.pid}/fd/${fd}`);
        } catch {
          continue;
        }
        const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
        if (inode && inodes.has(inode)) return i;
      }
    }
    return undefined;
  }

  /** Kills worker `i` (SIGKILL by default: no graceful shutdown) and waits until it is gone. */
  async killWorker(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const worker = this.workers[i];
    if (!worker) return;
    if (!worker.ended) worker.child.kill(signal);
    await worker.exited;
    this.workers[i] = undefined;
  }

  /** Starts worker `i` (again), resolving once it polls Temporal. */
  async startWorker(i: number): Promise<void> {
    if (this.workers[i] && !this.workers[i]!.ended) throw new Error(`worker ${i} is running`);
    const port = await freePort();
    this.workerMetricsPorts[i] = port;
    this.workers[i] = await this.spawn(`worker${i}`, ['worker'], { ONRAMP_WORKER_METRICS_PORT: String(port) }, async (p) => /"msg":"worker metrics"/.test(readLog(p.log)));
  }

  /** Worker `i`'s /healthz: its status code and body. */
  async workerHealth(i: number): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`http://127.0.0.1:${this.workerMetricsPorts[i]}/healthz`);
    return { status: response.status, body: await response.json() };
  }

  async stopTemporal(): Promise<void> {
    await this.temporal!.stop();
  }

  async startTemporal(): Promise<void> {
    await this.temporal!.start();
  }

  /**
   * From each developer's journey history on the Temporal server: which worker process completed
   * its workflow tasks (by pid), how many workflow tasks timed out (a task given to a worker
   * that died: its sticky queue, or the task itself), and which activities were retried.
   */
  async journeyHistories(ids: string[]): Promise<Map<string, JourneyHistory>> {
    const connection = await Connection.connect({ address: this.temporal!.address });
    try {
      const client = new Client({ connection });
      const result = new Map<string, JourneyHistory>();
      for (const id of ids) {
        const history = await client.workflow.getHandle(journeyWorkflowId(id)).fetchHistory();
        const events = history.events ?? [];
        const scheduled = new Map(
          events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [[String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '']] : [])),
        );
        result.set(id, {
          // A retried activity's started event is written when it ends, with the attempt number
          // and the previous attempt's failure.
          activities: events.flatMap((e) => {
            const started = e.activityTaskStartedEventAttributes;
            if (!started) return [];
            const failure = started.lastFailure;
            return [
              {
                type: scheduled.get(String(started.scheduledEventId)) ?? '',
                attempt: started.attempt ?? 1,
                ...(failure ? { lastFailure: failure.timeoutFailureInfo ? `timeout (${failure.message})` : (failure.message ?? 'failed') } : {}),
              },
            ];
          }),
          // The SDK's identity is `<pid>@<host>`.
          completedBy: events.flatMap((e) => (e.workflowTaskCompletedEventAttributes ? [Number.parseInt(e.workflowTaskCompletedEventAttributes.identity ?? '', 10)] : [])),
          tasksTimedOut: events.filter((e) => e.workflowTaskTimedOutEventAttributes).length,
          // journey.events' one argument, an array of events, as the default converter's JSON.
          signaled: events.flatMap((e) => {
            const data = e.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0]?.data;
            return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }[]).map((event) => event.id)] : [];
          }),
        });
      }
      return result;
    } finally {
      await connection.close();
    }
  }

  /** The mails Onramp sent through SMTP_URL, parsed. */
  emails(): ParsedMail[] {
    return [...this.mails];
  }

  /** `fetch` against the API (the first, or api process `api`) with the ingest key (or `key`). */
  request(path: string, init: { method?: string; body?: unknown; key?: string; api?: number } = {}) {
    return fetch(`${this.apiUrls[init.api ?? 0]}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { authorization: `Bearer ${init.key ?? INGEST_KEY}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  }

  async postEvents(body: unknown, api = 0): Promise<{ status: number; body: any }> {
    const response = await this.request('/v1/events', { body, api });
    return { status: response.status, body: await response.json() };
  }

  async journey(developerId: string): Promise<{ status: number; body: any }> {
    const response = await this.request(`/v1/developers/${encodeURIComponent(developerId)}/journey`);
    return { status: response.status, body: await response.json() };
  }

  waitForJourney(developerId: string, done: (journey: any) => boolean, timeout = 60_000): Promise<any> {
    return eventually(() => this.journey(developerId), { until: ({ status, body }) => status === 200 && done(body), timeout, describe: `journey ${developerId} settled` }).then(
      ({ body }) => body,
    );
  }

  /** A process's log (api, api1 …, worker0, worker1, temporal), for failure messages. */
  log(name: string): string {
    return readLog(name === 'temporal' ? (this.temporal?.logFile ?? '') : join(this.dir, `${name}.log`));
  }

  /** Stops everything and removes every trace (databases, files); never throws. */
  async stop(): Promise<void> {
    const steps: [string, () => Promise<unknown>][] = [
      ['api', () => Promise.all(this.apis.map((api) => this.terminate(api)))],
      ['worker0', () => this.terminate(this.workers[0])],
      ['worker1', () => this.terminate(this.workers[1])],
      ['smtp', () => new Promise<void>((resolve) => (this.smtp ? this.smtp.close(() => resolve()) : resolve()))],
      ['pool', () => this.pool?.end() ?? Promise.resolve()],
      ['temporal', () => this.temporal?.drop() ?? Promise.resolve()],
      ['database', () => this.database?.drop() ?? Promise.resolve()],
    ];
    for (const [name, step] of steps) {
      await step().catch((error) => console.warn(`production topology: stopping ${name} failed: ${error instanceof Error ? error.message : String(error)}`));
    }
    if (!process.env.KEEP_TOPOLOGY_LOGS) rmSync(this.dir, { recursive: true, force: true });
  }

  private async startSmtp(): Promise<void> {
    this.smtpPort = await freePort();
    this.smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then(async (mail) => {
            this.mails.push(mail);
            const drop = () => {
              // smtp-server keeps its sessions' connections in `connections` (not typed).
              const connections = (this.smtp as unknown as { connections: Set<{ remotePort: number; _socket?: { destroy(): void } }> }).connections;
              for (const c of connections) if (c.remotePort === session.remotePort) c._socket?.destroy();
            };
            await this.onSmtpData?.(mail, { remotePort: session.remotePort, drop });
          })
          .then(() => callback(), callback);
      },
    });
    await new Promise<void>((resolve) => this.smtp!.listen(this.smtpPort, '127.0.0.1', resolve));
  }

  /** The environment docker-compose.yml gives the api and worker services, pointed at the local parts. */
  private env(extra: Record<string, string>): NodeJS.ProcessEnv {
    const base = Object.fromEntries(
      Object.entries(process.env).filter(
        ([name]) =>
          !name.startsWith('ONRAMP_') && !['PORT', 'DATABASE_URL', 'TEMPORAL_ADDRESS', 'SMTP_URL', 'NODE_OPTIONS', 'VITEST'].includes(name) && !name.startsWith('VITEST_'),
      ),
    );
    return {
      ...base,
      DATABASE_URL: this.database!.url,
      TEMPORAL_ADDRESS: this.temporal!.address,
      HOST: '127.0.0.1',
      ONRAMP_INGEST_KEY: INGEST_KEY,
      ONRAMP_ADMIN_KEY: ADMIN_KEY,
      ONRAMP_SIGNING_SECRET: SIGNING_SECRET,
      ONRAMP_PUBLIC_URL: 'http://onramp.test',
      SMTP_URL: `smtp://127.0.0.1:${this.smtpPort}`,
      ONRAMP_DATA_DIR: join(this.dir, 'data'),
      LOG_LEVEL: 'info',
      ONRAMP_DATABASE_CONNECTIONS: String(PROCESS_CONNECTIONS),
      ...this.options.env,
      ...extra,
    };
  }

  private async spawn(name: string, args: string[], extra: Record<string, string>, ready: (p: OnrampProcess) => Promise<boolean>): Promise<OnrampProcess> {
    const log = join(this.dir, `${name}.log`);
    const fd = openSync(log, 'a');
    const nodeArgs = ['--import', 'tsx', 'src/cli/main.ts', ...args];
    // setpriv: the kernel kills the process if the test process dies, even by SIGKILL.
    const [command, commandArgs] =
      process.platform === 'linux' && existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', '--', process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
    const child = spawn(command, commandArgs, { cwd: root, env: this.env(extra), stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const p: OnrampProcess = { name, child, log, ended: undefined, exited: undefined as unknown as Promise<void> };
    p.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => ((p.ended = `exited (${code ?? signal})`), resolve()));
      child.once('error', (error) => ((p.ended = `failed to start (${error.message})`), resolve()));
    });
    try {
      await eventually(async () => p.ended !== undefined || (await ready(p)), {
        until: (done) => done,
        timeout: READY_TIMEOUT_MS,
        interval: 200,
        describe: () => `onramp ${args.join(' ')} (${name}) ready:\n${tail(log)}`,
      });
    } catch (error) {
      await this.terminate(p);
      throw error;
    }
    if (p.ended) throw new Error(`onramp ${args.join(' ')} (${name}) ${p.ended} before it was ready:\n${tail(log)}`);
    return p;
  }

  /** SIGTERM (the CLI's graceful shutdown), SIGKILL after 15 s. */
  private async terminate(p: OnrampProcess | undefined): Promise<void> {
    if (!p || p.ended) return;
    p.child.kill('SIGTERM');
    if (!(await Promise.race([p.exited.then(() => true), sleep(15_000, false, { ref: false })]))) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
  }
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function tail(path: string, lines = 40): string {
  return readLog(path).trimEnd().split('\n').slice(-lines).join('\n') || '(empty log)';
}
