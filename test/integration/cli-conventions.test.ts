import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/temporal/free-port.ts';
import { ADMIN_KEY, INGEST_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { runOnramp } from '../support/onramp-cli.ts';

/**
 * What every `onramp` command over the HTTP API shares, as a user runs it (child processes): one
 * message naming the URL tried when the API is out of reach, no stack trace for an expected
 * failure, `--json` alone on stdout, unknown filter values refused with the allowed ones listed,
 * and the running `onramp start` found through its data dir.
 */

const dir = mkdtempSync(join(tmpdir(), 'onramp-cli-conventions-'));
let harness: OnrampHarness;
let url: string;
let closed: number;

beforeAll(async () => {
  harness = await new OnrampHarness('pglite').start();
  url = await harness.app.listen({ host: '127.0.0.1', port: 0 });
  closed = await freePort();
}, 120_000);

afterAll(async () => {
  await harness?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const onramp = (args: string[], env: Record<string, string> = {}) => runOnramp(args, { ONRAMP_DATA_DIR: join(dir, 'empty-data'), ...env });
const unreachable = (base: string) => `onramp: cannot reach the Onramp API at ${base} (ECONNREFUSED). Is onramp start running? Set ONRAMP_API_URL or pass --url to call another.\n`;
const STACK_FRAME = /^\s+at /m;

describe('an API out of reach', () => {
  it.each(
    [
      ['rules', 'history'],
      ['policy', 'diff', 'config/escalation.yaml'],
      ['funnel', 'show'],
      ['keys', 'list'],
      ['audit'],
      ['agents', 'list'],
      ['webhooks', 'list'],
      ['handoffs', 'list'],
      ['journey', 'dev_anyone'],
      ['templates', 'preview', 'first-call-help'],
    ].map((args) => [args.join(' '), args] as const),
  )('onramp %s: one line naming the URL tried, exit 1, no stack trace', async (_, args) => {
    const run = await onramp([...args, '--url', `http://127.0.0.1:${closed}`, '--key', ADMIN_KEY]);
    expect({ code: run.code, stderr: run.stderr, stdout: run.stdout }).toEqual({ code: 1, stderr: unreachable(`http://127.0.0.1:${closed}`), stdout: '' });
  });

  it('ONRAMP_API_URL is the URL tried when --url is not given', async () => {
    const run = await onramp(['rules', 'history', '--key', ADMIN_KEY], { ONRAMP_API_URL: `http://127.0.0.1:${closed}/` });
    expect(run).toMatchObject({ code: 1, stderr: unreachable(`http://127.0.0.1:${closed}`) });
  });
});

describe('the running onramp start, found through its data dir', () => {
  const dataDir = join(dir, 'data');
  const record = (apiUrl: string, pid: number) => {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'onramp.json'), JSON.stringify({ apiUrl, pid, startedAt: new Date().toISOString() }));
  };
  // PORT points nowhere: only the record can lead the CLI to the API.
  const inDataDir = (args: string[], env: Record<string, string> = {}) => runOnramp(args, { ONRAMP_DATA_DIR: dataDir, PORT: String(closed), ...env });

  it('is called when its process is alive', async () => {
    record(url, process.pid);
    const run = await inDataDir(['rules', 'history', '--key', ADMIN_KEY]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^v1 /);
  });

  it('is ignored when its process is gone (a crash left it): the default URL is tried, and named', async () => {
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    record(url, gone);
    const run = await inDataDir(['rules', 'history', '--key', ADMIN_KEY]);
    expect(run).toMatchObject({ code: 1, stderr: unreachable(`http://localhost:${closed}`) });
  });

  it('gives way to ONRAMP_API_URL and --url', async () => {
    record(url, process.pid);
    const viaEnv = await inDataDir(['rules', 'history', '--key', ADMIN_KEY], { ONRAMP_API_URL: `http://127.0.0.1:${closed}` });
    expect(viaEnv.stderr).toBe(unreachable(`http://127.0.0.1:${closed}`));
    const viaOption = await inDataDir(['rules', 'history', '--key', ADMIN_KEY, '--url', `http://127.0.0.1:${closed}`]);
    expect(viaOption.stderr).toBe(unreachable(`http://127.0.0.1:${closed}`));
  });
});

describe('expected failures', () => {
  it('an HTTP 4xx is a message and an exit code, never a stack trace', async () => {
    const missing = await onramp(['journey', 'dev_nobody', '--url', url, '--key', INGEST_KEY]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^404: /);
    expect(missing.stderr).not.toMatch(STACK_FRAME);
    const wrongKey = await onramp(['keys', 'list', '--url', url, '--key', 'onr_admin_not_the_key_at_all']);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain('401');
    expect(wrongKey.stderr).not.toMatch(STACK_FRAME);
  });

  it.each(
    [
      [['handoffs', 'list', '--status', 'bogus'], 'Allowed choices are open, claimed, snoozed, returned, resolved, active.'],
      [['handoffs', 'list', '--order', 'soonest'], 'Allowed choices are newest, due, risk.'],
      [['handoffs', 'list', '--limit', '0'], '--limit must be an integer from 1 to 200'],
      [['handoffs', 'list', '--level', 'high'], '--level must be an integer from 1 to 100'],
      [['webhooks', 'deliveries', 'wh_any', '--status', 'lost'], 'Allowed choices are pending, delivered, failed.'],
      [['audit', '--limit', '9999'], '--limit must be an integer from 1 to 500'],
    ].map(([args, allowed]) => [(args as string[]).join(' '), args as string[], allowed as string] as const),
  )('onramp %s is refused before any call, naming the allowed values', async (_, args, allowed) => {
    // The closed port: had it called the API, the message would say so.
    const run = await onramp([...args, '--url', `http://127.0.0.1:${closed}`, '--key', ADMIN_KEY]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(allowed);
    expect(run.stderr).not.toContain('cannot reach');
  });
});

describe('--json', () => {
  it('stdout holds the JSON alone: `npm run -s onramp -- … --json | jq` works', async () => {
    const piped = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ONRAMP_')));
      execFile(
        'sh',
        ['-c', `npm run -s onramp -- rules history --json --url ${url} --key ${ADMIN_KEY} | jq -e '.[0].version'`],
        { env: { ...env, ONRAMP_DATA_DIR: join(dir, 'empty-data') } },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
    });
    expect(piped, piped.stderr).toMatchObject({ code: 0, stdout: '1\n' });
  });

  it.each([['keys', 'list'], ['agents', 'list'], ['webhooks', 'list'], ['handoffs', 'list'], ['audit'], ['funnel', 'show']].map((args) => [args.join(' '), args] as const))(
    'onramp %s --json prints JSON and nothing else',
    async (_, args) => {
      const run = await onramp([...args, '--json', '--url', url, '--key', ADMIN_KEY]);
      expect(run.code, run.stderr).toBe(0);
      expect(() => JSON.parse(run.stdout)).not.toThrow();
    },
  );
});
