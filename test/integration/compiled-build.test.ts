import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnramp, CLI_FILE, RUNTIME_FILES } from '../../scripts/build.ts';
import { WORKFLOW_BUNDLE_FILE } from '../../src/assembly/workflow-bundle.ts';
import { packagePath } from '../../src/package-root.ts';
import { startTemporalDevServer, type DevServer } from '../../src/temporal/dev-server.ts';
import { eventually } from '../support/eventually.ts';
import { freePort } from '../../src/temporal/free-port.ts';
import { startUntilHealthy, type HealthyProcess } from '../support/healthy-process.ts';
import { INGEST_KEY } from '../support/onramp-harness.ts';
import { SIGNING_SECRET } from '../support/nudge-deps.ts';
import { LOADED_MODULES_PROBE, loadedModules, packagesOf, SERVER_PACKAGES } from '../support/server-packages.ts';
import { signupWithKey } from '../support/signup-events.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-databases.ts';

const run = promisify(execFile);

/**
 * `npm run build` into a tree holding only what the image's runtime stage holds (RUNTIME_FILES,
 * dist/, node_modules without tsx) and bin/: no TypeScript sources, no workflows/, so the compiled
 * CLI can only work from what the build wrote. Its api and worker then run a journey together, as compose runs them.
 */
describe('the compiled build (dist/)', () => {
  const tree = mkdtempSync(join(tmpdir(), 'onramp-compiled-'));
  const cli = join(tree, 'dist', CLI_FILE);
  let database: TestDatabase;
  let temporal: DevServer;
  const processes: HealthyProcess[] = [];

  beforeAll(async () => {
    for (const file of RUNTIME_FILES) {
      mkdirSync(dirname(join(tree, file)), { recursive: true });
      cpSync(packagePath(file), join(tree, file), { recursive: true });
    }
    cpSync(packagePath('bin'), join(tree, 'bin'), { recursive: true });
    // The checkout's packages less tsx, as in a production install: nothing may need it at run time.
    mkdirSync(join(tree, 'node_modules'));
    for (const name of readdirSync(packagePath('node_modules'))) {
      if (name !== 'tsx' && name !== '.bin') symlinkSync(packagePath('node_modules', name), join(tree, 'node_modules', name));
    }
    await buildOnramp(join(tree, 'dist'));
    database = await createTestDatabase(process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite');
    temporal = await startTemporalDevServer({ dataDir: join(tree, 'temporal'), port: await freePort(), uiPort: await freePort() });
  }, 120_000);

  afterAll(async () => {
    for (const p of processes) await p.stop();
    await temporal?.stop();
    await database?.drop();
    rmSync(tree, { recursive: true, force: true });
  });

  /** The environment compose gives both services, on the local database and Temporal server. */
  const env = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ONRAMP_') && !name.startsWith('VITEST') && name !== 'NODE_OPTIONS')),
    NODE_ENV: 'production',
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: temporal.address,
    HOST: '127.0.0.1',
    ONRAMP_INGEST_KEY: INGEST_KEY,
    ONRAMP_SIGNING_SECRET: SIGNING_SECRET,
    ONRAMP_DATA_DIR: join(tree, 'data'),
    LOG_LEVEL: 'info',
    ...extra,
  });

  it('holds the CLI, its source map and the workflow bundle, and nothing of the sources is beside it', () => {
    for (const file of [CLI_FILE, `${CLI_FILE}.map`, WORKFLOW_BUNDLE_FILE]) expect(existsSync(join(tree, 'dist', file)), file).toBe(true);
    expect(existsSync(join(tree, 'workflows'))).toBe(false);
    expect(existsSync(join(tree, 'src', 'cli'))).toBe(false);
  });

  it('answers --help and --version with plain node, from any working directory', async () => {
    const help = await run(process.execPath, [cli, '--help'], { cwd: tmpdir() });
    expect(help.stdout).toMatch(/^Usage: onramp /);
    expect(help.stdout).toContain('worker');
    const version = await run(process.execPath, [cli, '--version'], { cwd: tmpdir() });
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(packagePath('package.json'), 'utf8')).version);
  });

  it("loads no server's packages for a client command: each command's code is a chunk imported when it runs", async () => {
    const probe = join(tree, 'probe.cjs');
    writeFileSync(probe, LOADED_MODULES_PROBE);
    const help = await run(process.execPath, ['--require', probe, cli, 'handoffs', '--help'], { cwd: tmpdir() });
    expect(help.stdout).toMatch(/^Usage: onramp handoffs/);
    const loaded = packagesOf(loadedModules(help.stderr));
    expect(loaded).toContain('commander');
    expect(loaded.filter((name) => SERVER_PACKAGES.includes(name))).toEqual([]);
  });

  it('is what bin/onramp.mjs runs where tsx is not installed', async () => {
    const version = await run(process.execPath, [join(tree, 'bin', 'onramp.mjs'), '--version'], { cwd: tmpdir() });
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(packagePath('package.json'), 'utf8')).version);
    const failure = await run(process.execPath, [join(tree, 'bin', 'onramp.mjs'), 'no-such-command'], { cwd: tmpdir() }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1, stderr: expect.stringContaining("unknown command 'no-such-command'") });
  });

  // Two processes on one database: PGlite's socket server (the default without TEST_DATABASE_URL)
  // serves them one connection at a time, and the worker then never got one within the minute.
  it.skipIf(!process.env.TEST_DATABASE_URL)(
    "runs a journey: `api` serves and stores events, `worker` runs the workflow from the build's bundle (needs TEST_DATABASE_URL)",
    async () => {
      const apiPort = await freePort();
      // The image's working directory is the tree's root (WORKDIR /app): the config defaults name its config/ and templates/.
      const api = await startUntilHealthy([process.execPath, '--enable-source-maps', cli, 'api'], {
        cwd: tree,
        env: env({ PORT: String(apiPort) }),
        healthUrl: `http://127.0.0.1:${apiPort}/healthz`,
      });
      processes.push(api);
      const dashboard = await fetch(`http://127.0.0.1:${apiPort}/dashboard`);
      expect(dashboard.status).toBe(200);
      expect(await dashboard.text()).toContain('<html');

      const workerPort = await freePort();
      const worker = await startUntilHealthy([process.execPath, '--enable-source-maps', cli, 'worker'], {
        cwd: tree,
        env: env({ ONRAMP_WORKER_METRICS_PORT: String(workerPort) }),
        healthUrl: `http://127.0.0.1:${workerPort}/healthz`,
      });
      processes.push(worker);
      expect(worker.output()).toContain('workflow bundle prebuilt');
      expect(worker.output()).toContain(join(tree, 'dist', WORKFLOW_BUNDLE_FILE));

      const posted = await fetch(`http://127.0.0.1:${apiPort}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${INGEST_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events: signupWithKey('dev_compiled', new Date().toISOString(), { accountType: 'individual', acquisitionChannel: 'direct' }) }),
      });
      expect(posted.status, await posted.clone().text()).toBeLessThan(300);
      // A transition row is written by the workflow's activity: the bundle loaded and ran.
      const pool = new pg.Pool({ connectionString: database.url, max: 1 });
      try {
        const rows = await eventually(async () => (await pool.query(`SELECT to_stage FROM journey_transitions WHERE developer_id = 'dev_compiled'`)).rows, {
          until: (rows) => rows.length > 0,
          timeout: 30_000,
          describe: () => `a transition row for dev_compiled\napi:\n${api.output().slice(-3000)}\nworker:\n${worker.output().slice(-3000)}`,
        });
        // Signed up and holding a key at the same instant: one step to the later stage.
        expect(rows.map((r) => r.to_stage)).toEqual(['credential_provisioned']);
      } finally {
        await pool.end();
      }
    },
    90_000,
  );
});
