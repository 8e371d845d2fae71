/**
 * `npm run bench:scale`: synthetic developers from the simulator through the production topology on
 * one machine: `onramp api` and `onramp worker` as separate processes, a Temporal dev server
 * (SQLite, WAL pragmas) and PostgreSQL (BENCH_DATABASE_URL or TEST_DATABASE_URL; a fresh database
 * is created there). Three phases:
 *
 *   baseline    SCALE_TRIVIAL_WORKFLOWS (as many as SCALE_DEVELOPERS; 0: none) trivial workflows started
 *               from a backlog by signalWithStart at the outbox dispatcher's concurrency, with the
 *               journey worker's slots and cache (bench/scale-baseline.ts): workflows/s until every one
 *               completed, the rate the in-flight phase's journeys/s is a ratio of
 *   histories   SCALE_HISTORY_DEVELOPERS (2,000) developers whose last 30 days end now, each history
 *               in one request: developers/s until every journey has applied its history and decided
 *               on it (the nudges due go to the local outbox, cases are opened; no Slack)
 *   in flight   SCALE_DEVELOPERS (100,000) developers signing up over the last SCALE_ARRIVAL_HOURS (6)
 *               hours, fed chunk by chunk, until every journey runs; then, with them all in flight:
 *               worker RSS (peak over the run, sampled from /proc every second), the journey's state
 *               by Temporal query and by GET /v1/developers/:id/journey (p50/p99), and every
 *               /v1/metrics endpoint (median of three)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { ApiClient } from '../src/client/api-client.ts';
import { applyMigrations } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/database.ts';
import { planDelivery } from '../src/simulator/delivery-plan.ts';
import { feedOverHttp } from '../src/simulator/http-feed.ts';
import { generateCohort } from '../src/simulator/synthetic-cohort.ts';
import { startTemporalDevServer } from '../src/temporal/dev-server.ts';
import { installTemporalRuntime } from '../src/temporal/install-runtime.ts';
import { journeyStateQuery, journeyWorkflowId, TASK_QUEUE } from '../workflows/journey-messages.ts';
import { workflowTaskBacklog } from '../src/temporal/task-queue-backlog.ts';
import { createTestDatabase } from '../test/support/test-databases.ts';
import { freePort } from '../src/temporal/free-port.ts';
import { loadConfig } from '../src/config.ts';
import { cpuSeconds, percentile, processCpuSeconds, runMain, waitFor } from './bench-support.ts';
import { trivialBacklogStart, type BacklogTimelinePoint } from './scale-baseline.ts';
import { historyShape, scrapeTemporalMetrics, temporalMetricsDelta } from './temporal-metrics.ts';

const DEVELOPERS = Number(process.env.SCALE_DEVELOPERS ?? 100_000);
const HISTORY_DEVELOPERS = Number(process.env.SCALE_HISTORY_DEVELOPERS ?? 2_000);
const ARRIVAL_HOURS = Number(process.env.SCALE_ARRIVAL_HOURS ?? 6);
const CHUNK = Number(process.env.SCALE_CHUNK ?? 5_000);
const QUERY_SAMPLES = Number(process.env.SCALE_QUERY_SAMPLES ?? 300);
const TRIVIAL_WORKFLOWS = Number(process.env.SCALE_TRIVIAL_WORKFLOWS ?? DEVELOPERS);
const DAYS = 30;
/** The worker's V8 heap cap (as production should run it: docs/guides/platform-engineer.md#scaling). */
const WORKER_HEAP_MB = Number(process.env.SCALE_WORKER_HEAP_MB ?? 512);
const SEED = 7;
const INGEST_KEY = 'scale-ingest-key-0123456789abcdef';
const ADMIN_KEY = 'scale-admin-key-0123456789abcdef';
const root = fileURLToPath(new URL('..', import.meta.url));
const progress = (message: string) => process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

/** `onramp <command>` as its own process, as production runs it. */
function onramp(command: 'api' | 'worker', env: Record<string, string>, nodeFlags: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', 'src/cli/main.ts', command], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') progress(`onramp ${command} exited: ${code ?? signal}`);
  });
  return child;
}

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
}

async function main() {
  if (process.env.BENCH_DATABASE_URL) process.env.TEST_DATABASE_URL = process.env.BENCH_DATABASE_URL;
  if (!process.env.TEST_DATABASE_URL) throw new Error('bench:scale needs PostgreSQL: set BENCH_DATABASE_URL (PGlite serves one connection, not two processes)');
  const database = await createTestDatabase('postgres');
  await applyMigrations(database.url);
  const temporalDir = mkdtempSync(join(tmpdir(), 'onramp-scale-'));
  const logger = pino({ level: 'warn' });
  installTemporalRuntime(logger);
  const metricsPort = await freePort();
  const server = await startTemporalDevServer({ dataDir: temporalDir, port: await freePort(), uiPort: await freePort(), metricsPort });
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  progress(`Temporal dev server ${server.address} (pid ${server.pid}), metrics ${metricsUrl}`);
  const port = await freePort();
  const env = {
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: server.address,
    ONRAMP_INGEST_KEY: INGEST_KEY,
    ONRAMP_ADMIN_KEY: ADMIN_KEY,
    ONRAMP_SIGNING_SECRET: 's'.repeat(40),
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  };
  // SCALE_WORKER_PROFILE=<dir>: the worker writes a CPU profile there when it stops (node --cpu-prof).
  const profile = process.env.SCALE_WORKER_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SCALE_WORKER_PROFILE}`] : [];
  // The settings the worker and the dispatcher run with, which the baseline copies.
  const config = loadConfig({ ...process.env, ...env });
  const worker = onramp('worker', env, [`--max-old-space-size=${WORKER_HEAP_MB}`, ...profile]);
  const api = onramp('api', env);
  progress(`onramp api pid ${api.pid}, onramp worker pid ${worker.pid}`);
  const url = `http://127.0.0.1:${port}`;
  const db = openDatabase(database.url, { max: 4 });
  const connection = await Connection.connect({ address: server.address });
  const temporal = new Client({ connection });
  let peakRss = 0;
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, rssBytes(worker.pid!));
    } catch {
      // the worker is starting or gone
    }
  }, 1000);
  const results: Record<string, unknown> = {
    developers: DEVELOPERS,
    date: new Date().toISOString(),
    dispatchConcurrency: config.ONRAMP_DISPATCH_CONCURRENCY,
    maxTaskBacklog: config.ONRAMP_DISPATCH_MAX_BACKLOG,
    workerTaskSlots: Math.min(config.ONRAMP_WORKER_CONCURRENCY, config.ONRAMP_WORKER_CACHED_WORKFLOWS),
    cachedWorkflows: config.ONRAMP_WORKER_CACHED_WORKFLOWS,
  };
  try {
    const ingest = new ApiClient(url, INGEST_KEY, { attempts: 60 });
    await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true, 120_000);
    const stageRows = async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM journey_stages')).rows[0]!.n;
    /** Outbox rows delivered so far (every row the sequence issued that is gone) and still pending. */
    const outbox = async () => {
      const { rows } = await db.pool.query<{ issued: string; called: boolean; pending: number }>(
        'SELECT last_value AS issued, is_called AS called, (SELECT count(*)::int FROM outbox_signals) AS pending FROM outbox_signals_id_seq',
      );
      const issued = rows[0]!.called ? Number(rows[0]!.issued) : 0;
      return { issued, delivered: issued - rows[0]!.pending, pending: rows[0]!.pending };
    };
    /** Runs `phase` between two scrapes of the Temporal server's metrics and of the servers' CPU. */
    const measured = async <T>(phase: () => Promise<T>) => {
      const before = await scrapeTemporalMetrics(metricsUrl);
      const ours = () => ({ api: processCpuSeconds(api.pid), worker: processCpuSeconds(worker.pid), temporal: processCpuSeconds(server.pid) });
      const cpu = cpuSeconds();
      const own = ours();
      const result = await phase();
      const after = cpuSeconds();
      const ownAfter = ours();
      return {
        ...result,
        temporal: temporalMetricsDelta(before, await scrapeTemporalMetrics(metricsUrl)),
        // postgres: every PostgreSQL process on the machine (another run's too); the others: this run's processes
        cpuSeconds: {
          bench: +(after.node - cpu.node).toFixed(1),
          api: +(ownAfter.api - own.api).toFixed(1),
          worker: +(ownAfter.worker - own.worker).toFixed(1),
          temporal: +(ownAfter.temporal - own.temporal).toFixed(1),
          postgres: +(after.postgres - cpu.postgres).toFixed(1),
        },
      };
    };
    if (TRIVIAL_WORKFLOWS > 0) {
      progress(`baseline: ${TRIVIAL_WORKFLOWS} trivial workflows from a backlog, ${config.ONRAMP_DISPATCH_CONCURRENCY} signalWithStart in flight`);
      results.trivial = await measured(() =>
        trivialBacklogStart({
          address: server.address,
          temporal,
          workflows: TRIVIAL_WORKFLOWS,
          concurrency: config.ONRAMP_DISPATCH_CONCURRENCY,
          maxConcurrentWorkflowTaskExecutions: Math.min(config.ONRAMP_WORKER_CONCURRENCY, config.ONRAMP_WORKER_CACHED_WORKFLOWS),
          maxCachedWorkflows: config.ONRAMP_WORKER_CACHED_WORKFLOWS,
          maxTaskBacklog: config.ONRAMP_DISPATCH_MAX_BACKLOG,
          progress,
        }),
      );
      const sample = Array.from({ length: 20 }, (_, i) => `trivial-backlog/${Math.floor((i * TRIVIAL_WORKFLOWS) / 20)}`);
      results.trivialHistory = await historyShape(temporal, sample);
      progress(`baseline: ${JSON.stringify(results.trivial, (k, v) => (k === 'timeline' || k === 'temporal' ? undefined : v))}`);
    }
    /** Feeds developers chunk by chunk; resolves when every journey has recorded the stages its truth has. */
    const run = async (label: string, idPrefix: string, count: number, days: number) => {
      const until = new Date();
      const start = new Date(until.getTime() - days * 86_400_000);
      const before = await stageRows();
      const outboxBefore = await outbox();
      let events = 0;
      let expected = before;
      const begin = performance.now();
      const timeline: (BacklogTimelinePoint & { pending: number; fed: number })[] = [];
      let fedDevelopers = 0;
      let outboxDrainedSeconds: number | undefined;
      let sampling = Promise.resolve();
      const sample = setInterval(() => {
        sampling = sampling.then(
          async () => {
            const t = (performance.now() - begin) / 1000;
            const [rows, box, backlog] = await Promise.all([stageRows(), outbox(), workflowTaskBacklog(temporal, TASK_QUEUE)]);
            timeline.push({ t: Math.round(t), started: box.delivered - outboxBefore.delivered, pending: box.pending, done: rows - before, fed: fedDevelopers, backlog });
            if (outboxDrainedSeconds === undefined && fedDevelopers === count && box.pending === 0) outboxDrainedSeconds = t;
          },
          () => undefined,
        );
      }, 5_000);
      for (let first = 0; first < count; first += CHUNK) {
        const developers = generateCohort({ seed: SEED, idPrefix, developers: Math.min(CHUNK, count - first), firstIndex: first, days, start, until });
        const feed = await feedOverHttp({ ingest, developers, plan: planDelivery(developers, { seed: SEED + first }), seed: SEED });
        events += feed.accepted;
        fedDevelopers += developers.length;
        expected += developers.reduce((n, d) => n + Object.keys(d.truth.stages).length, 0);
        progress(`${label}: ${first + developers.length} developers fed (${events} events); worker RSS ${(rssBytes(worker.pid!) / 2 ** 20).toFixed(0)} MiB`);
      }
      const fedSeconds = (performance.now() - begin) / 1000;
      let lastReport = 0;
      let lastQueries = Date.now();
      await waitFor(
        async () => {
          const rows = await stageRows();
          if (Date.now() - lastReport > 60_000) {
            lastReport = Date.now();
            const { rows: running } = await db.pool.query<{ n: number }>('SELECT count(DISTINCT developer_id)::int AS n FROM journey_transitions');
            progress(
              `${label}: ${running[0]!.n} journeys have recorded transitions, ${rows}/${expected} stage rows; worker RSS ${(rssBytes(worker.pid!) / 2 ** 20).toFixed(0)} MiB (peak ${(peakRss / 2 ** 20).toFixed(0)})`,
            );
            if (Date.now() - lastQueries > 600_000) {
              // A sample of journey queries while the rest catch up, so a run cut short still says something.
              lastQueries = Date.now();
              const { rows: sample } = await db.pool.query<{ developer_id: string }>('SELECT developer_id FROM journey_transitions ORDER BY random() LIMIT 50');
              const ms: number[] = [];
              for (const { developer_id } of sample) {
                const t = performance.now();
                await temporal.workflow.getHandle(journeyWorkflowId(developer_id)).query(journeyStateQuery);
                ms.push(performance.now() - t);
              }
              if (ms.length > 0)
                progress(`${label}: journey query over ${ms.length} started journeys: p50 ${percentile(ms, 0.5).toFixed(1)} ms, p99 ${percentile(ms, 0.99).toFixed(1)} ms`);
            }
          }
          return rows >= expected;
        },
        4 * 3_600_000,
        5_000,
      );
      const settledSeconds = (performance.now() - begin) / 1000;
      clearInterval(sample);
      await sampling;
      const delivered = (await outbox()).delivered - outboxBefore.delivered;
      progress(`${label}: settled in ${settledSeconds.toFixed(0)} s; ${delivered} outbox rows delivered, drained at ${outboxDrainedSeconds?.toFixed(0) ?? '?'} s`);
      return {
        outboxRows: delivered,
        outboxDrainedSeconds: outboxDrainedSeconds === undefined ? undefined : Math.round(outboxDrainedSeconds),
        signalWithStartsPerSecond: outboxDrainedSeconds === undefined ? undefined : +(delivered / outboxDrainedSeconds).toFixed(1),
        stageRows: expected - before,
        timeline,
        developers: count,
        events,
        eventsPerSecond: Math.round(events / fedSeconds),
        fedSeconds: Math.round(fedSeconds),
        settledSeconds: Math.round(settledSeconds),
        developersPerSecond: +(count / settledSeconds).toFixed(1),
      };
    };
    if (HISTORY_DEVELOPERS > 0) results.histories = await run('histories', 'hist-', HISTORY_DEVELOPERS, DAYS);
    results.feed = await measured(() => run('in flight', `sim${SEED}-`, DEVELOPERS, ARRIVAL_HOURS / 24));
    results.journeyHistory = await historyShape(
      temporal,
      Array.from({ length: 20 }, (_, i) => journeyWorkflowId(`sim${SEED}-${String(Math.floor((i * DEVELOPERS) / 20)).padStart(6, '0')}`)),
    );
    const running = await temporal.workflow.count('WorkflowType = "onboardingJourney" AND ExecutionStatus = "Running"');
    results.inFlight = running.count;

    progress(`${running.count} journeys running; queries`);
    const ids = Array.from({ length: QUERY_SAMPLES }, (_, i) => `sim${SEED}-${String(Math.floor((i * DEVELOPERS) / QUERY_SAMPLES)).padStart(6, '0')}`);
    const queryMs: number[] = [];
    for (const id of ids) {
      const t = performance.now();
      await temporal.workflow.getHandle(journeyWorkflowId(id)).query(journeyStateQuery);
      queryMs.push(performance.now() - t);
    }
    const readMs: number[] = [];
    for (const id of ids) {
      const t = performance.now();
      const response = await fetch(`${url}/v1/developers/${id}/journey`, { headers: { authorization: `Bearer ${INGEST_KEY}` } });
      if (!response.ok) throw new Error(`GET journey ${id}: ${response.status}`);
      await response.arrayBuffer();
      readMs.push(performance.now() - t);
    }
    results.queries = {
      samples: QUERY_SAMPLES,
      temporalQuery: { p50Ms: +percentile(queryMs, 0.5).toFixed(1), p99Ms: +percentile(queryMs, 0.99).toFixed(1) },
      getJourney: { p50Ms: +percentile(readMs, 0.5).toFixed(1), p99Ms: +percentile(readMs, 0.99).toFixed(1) },
    };

    progress('metrics endpoints');
    const metrics: Record<string, number> = {};
    for (const path of ['conversion', 'ttfac', 'production', 'sdk', 'depth', 'errors', 'engagement', 'automation']) {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        const response = await fetch(`${url}/v1/metrics/${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        if (!response.ok) throw new Error(`/v1/metrics/${path}: ${response.status}`);
        await response.arrayBuffer();
        times.push(performance.now() - t);
      }
      metrics[path] = Math.round(percentile(times, 0.5));
    }
    results.metricsMs = metrics;
    results.workerRss = {
      peakMiB: Math.round(peakRss / 2 ** 20),
      endMiB: Math.round(rssBytes(worker.pid!) / 2 ** 20),
      targetMiB: 1024,
      heapCapMiB: WORKER_HEAP_MB,
      cachedWorkflows: config.ONRAMP_WORKER_CACHED_WORKFLOWS,
    };
    const { rows } = await db.pool.query<{ emails: number; cases: number }>('SELECT (SELECT count(*)::int FROM emails) AS emails, (SELECT count(*)::int FROM handoffs) AS cases');
    results.sideEffects = rows[0];
  } finally {
    clearInterval(sampler);
    api.kill('SIGTERM');
    worker.kill('SIGTERM');
    await Promise.all([api, worker].map((p) => new Promise((r) => (p.exitCode !== null ? r(undefined) : p.once('exit', r)))));
    await connection.close();
    await db.close();
    await server.stop();
    await database.drop();
    rmSync(temporalDir, { recursive: true, force: true });
  }
  report(results);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the run's results: a free-form record, written out as JSON
function report(r: Record<string, any>) {
  const lines = [
    `\nOnramp scale bench (${r.developers.toLocaleString('en')} developers, ${r.date})\n`,
    '| what | figure | target |',
    '|---|---|---|',
    ...(r.histories
      ? [
          `| histories: ${r.histories.developers} developers' last 30 days, applied and decided (nudges, cases) | ${r.histories.developersPerSecond} developers/s (${r.histories.settledSeconds} s) | |`,
        ]
      : []),
    `| in flight: ${r.feed.developers} signups over ${ARRIVAL_HOURS} h fed over HTTP | ${r.feed.eventsPerSecond} events/s (${r.feed.fedSeconds} s) | |`,
    `| … their outbox delivered (${r.feed.outboxRows} rows, ${r.dispatchConcurrency} signalWithStart in flight, paced at ${r.maxTaskBacklog || 'no'} tasks waiting) | ${r.feed.outboxDrainedSeconds ?? '?'} s (${r.feed.signalWithStartsPerSecond ?? '?'} signalWithStart/s) | |`,
    `| … until every journey ran | ${r.feed.settledSeconds} s (${r.feed.developersPerSecond} developers/s) | |`,
    ...(r.trivial
      ? [
          `| baseline: ${r.trivial.workflows} trivial workflows from a backlog, same server, concurrency and worker slots | ${r.trivial.settledSeconds} s (${r.trivial.workflowsPerSecond} workflows/s; ${r.trivial.signalWithStartsPerSecond} signalWithStart/s) | |`,
          `| journeys from the backlog vs the trivial workflow, same run | ${(r.feed.developersPerSecond / r.trivial.workflowsPerSecond).toFixed(2)}× | ≥ 0.8× |`,
          `| history of one workflow (20 sampled): events, bytes, workflow tasks; journey vs trivial | ${r.journeyHistory.events}, ${r.journeyHistory.bytes}, ${r.journeyHistory.workflowTasks} vs ${r.trivialHistory.events}, ${r.trivialHistory.bytes}, ${r.trivialHistory.workflowTasks} | |`,
          `| Temporal server: workflow tasks completed, signalWithStart calls per workflow; journey vs trivial | ${perWorkflow(r.feed.temporal, 'workflow_tasks_completed', r.feed.developers)}, ${perWorkflow(r.feed.temporal, 'signal_with_start', r.feed.developers)} vs ${perWorkflow(r.trivial.temporal, 'workflow_tasks_completed', r.trivial.workflows)}, ${perWorkflow(r.trivial.temporal, 'signal_with_start', r.trivial.workflows)} | |`,
          `| CPU ms per workflow (Temporal server, API, worker, every PostgreSQL), journey vs trivial | ${cpuPer(r.feed, r.feed.developers)} vs ${cpuPer(r.trivial, r.trivial.workflows)} | |`,
        ]
      : []),
    `| journeys running at the end | ${r.inFlight} | ${r.developers + (r.histories?.developers ?? 0)} |`,
    `| worker RSS (--max-old-space-size=${r.workerRss.heapCapMiB}, ${r.workerRss.cachedWorkflows} cached journeys) | peak ${r.workerRss.peakMiB} MiB, end ${r.workerRss.endMiB} MiB | < 1 GiB |`,
    `| journey state, Temporal query | p50 ${r.queries.temporalQuery.p50Ms} ms, p99 ${r.queries.temporalQuery.p99Ms} ms | |`,
    `| GET /v1/developers/:id/journey | p50 ${r.queries.getJourney.p50Ms} ms, p99 ${r.queries.getJourney.p99Ms} ms | |`,
    ...Object.entries(r.metricsMs as Record<string, number>).map(([name, ms]) => `| GET /v1/metrics/${name} | ${ms} ms | < 1 s |`),
    `| side effects | ${r.sideEffects.emails} emails (local outbox), ${r.sideEffects.cases} handoff cases | |`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (r.trivial) process.stdout.write(`\nTemporal server counters, in flight: ${JSON.stringify(r.feed.temporal)}\nbaseline: ${JSON.stringify(r.trivial.temporal)}\n`);
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `scale-${Date.now()}.json`), JSON.stringify(r, null, 2));
}

runMain(main);

/** A server counter per workflow; `signal_with_start`: the frontend's SignalWithStartWorkflowExecution calls (counted again by the history service). */
function perWorkflow(delta: Record<string, number>, key: string, workflows: number): string {
  const value = key === 'signal_with_start' ? (delta['service_requests{SignalWithStartWorkflowExecution}'] ?? 0) / 2 : delta[key];
  return value === undefined ? '?' : (value / workflows).toFixed(2);
}

function cpuPer(phase: { cpuSeconds: Record<string, number> }, workflows: number): string {
  const { temporal, api, worker, postgres } = phase.cpuSeconds;
  return [temporal, api, worker, postgres].map((s) => ((s! * 1000) / workflows).toFixed(1)).join(', ');
}
