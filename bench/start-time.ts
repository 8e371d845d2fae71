/**
 * `npm run bench:start`: how long `onramp api` and `onramp worker` take from the spawn to their
 * first /healthz 200 (what compose's health checks wait for), and `onramp --version` to exit (the
 * code's loading alone): compiled (`npm run build`, run as the image runs it) against the
 * TypeScript sources through tsx (the image's entrypoint before the build step: `npx tsx
 * src/cli/main.ts`, the worker reading the workflow bundle an earlier process on the same sources
 * kept, or bundling workflows/ with webpack when there is none: src/build-cache.ts). The variants take
 * turns, ROUNDS times, on one database (migrated first, so no start applies a migration) and one
 * Temporal dev server. START_BENCH_TREE: run the compiled CLI from that tree (e.g. a copy of the
 * image's file tree) instead of this checkout's dist/, built first.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOnramp, CLI_FILE } from '../scripts/build.ts';
import { packagePath } from '../src/package-root.ts';
import { startTemporalDevServer } from '../src/temporal/dev-server.ts';
import { freePort } from '../src/temporal/free-port.ts';
import { startUntilHealthy } from '../test/support/healthy-process.ts';
import { benchDatabase, percentile, runMain } from './bench-support.ts';

const ROUNDS = Number(process.env.START_BENCH_ROUNDS ?? 5);
const INGEST_KEY = 'bench-ingest-key-0123456789';
const SIGNING_SECRET = 'bench-signing-secret-0123456789abcdef';

/** `--version` (spawn to exit: loading the code alone), or a service until its /healthz answers 200. */
type Service = '--version' | 'api' | 'worker';
interface Variant {
  name: string;
  service: Service;
  command: string[];
  cwd: string;
}

async function main(): Promise<void> {
  const tree = process.env.START_BENCH_TREE;
  if (!tree) {
    const built = await buildOnramp();
    console.log(`build: CLI ${built.ms.cli} ms, workflow bundle ${built.ms.workflowBundle} ms`);
  }
  const root = tree ?? packagePath();
  const compiled = [process.execPath, '--enable-source-maps', join(root, 'dist', CLI_FILE)];
  const fromSource = ['npx', 'tsx', 'src/cli/main.ts'];
  const variants: Variant[] = (['--version', 'api', 'worker'] as const).flatMap((service) => [
    { name: `${service}, compiled (node dist/${CLI_FILE})`, service, command: [...compiled, service], cwd: root },
    { name: `${service}, from source (npx tsx src/cli/main.ts)`, service, command: [...fromSource, service], cwd: packagePath() },
  ]);

  const dir = mkdtempSync(join(tmpdir(), 'onramp-bench-start-'));
  const { backend, database, db } = await benchDatabase();
  await db.close();
  const temporal = await startTemporalDevServer({ dataDir: join(dir, 'temporal'), port: await freePort(), uiPort: await freePort() });
  const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order so neither variant always runs on the caches the other warmed.
      for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
        if (variant.service === '--version') {
          const started = performance.now();
          const { status } = spawnSync(variant.command[0]!, variant.command.slice(1), { cwd: variant.cwd, stdio: 'ignore' });
          if (status !== 0) throw new Error(`${variant.command.join(' ')} exited with ${status}`);
          times.get(variant.name)!.push(performance.now() - started);
          continue;
        }
        const port = await freePort();
        const env = {
          ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ONRAMP_'))),
          NODE_ENV: 'production',
          LOG_LEVEL: 'warn',
          DATABASE_URL: database.url,
          TEMPORAL_ADDRESS: temporal.address,
          HOST: '127.0.0.1',
          ONRAMP_INGEST_KEY: INGEST_KEY,
          ONRAMP_SIGNING_SECRET: SIGNING_SECRET,
          ONRAMP_DATA_DIR: join(dir, 'data'),
          ...(variant.service === 'api' ? { PORT: String(port) } : { ONRAMP_WORKER_METRICS_PORT: String(port) }),
        };
        const started = await startUntilHealthy(variant.command, { cwd: variant.cwd, env, healthUrl: `http://127.0.0.1:${port}/healthz`, timeoutMs: 120_000 });
        times.get(variant.name)!.push(started.ms);
        await started.stop();
      }
    }
  } finally {
    await temporal.stop();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  }

  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  console.log(
    `\nspawn → first /healthz 200 (--version: spawn → exit), ${ROUNDS} rounds (${backend}, Temporal dev server, load average ${load})${tree ? `, compiled from ${tree}` : ''}:\n`,
  );
  console.log('| process | median | min | max |');
  console.log('|---|---|---|---|');
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  for (const [name, ms] of times) console.log(`| ${name} | ${s(percentile(ms, 0.5))} | ${s(Math.min(...ms))} | ${s(Math.max(...ms))} |`);
}

runMain(main);
