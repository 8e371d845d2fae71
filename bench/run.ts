/**
 * `npm run bench`: Onramp's throughput and latency, each against a baseline measured in the same
 * run on the same servers. Uses the PostgreSQL in BENCH_DATABASE_URL (or TEST_DATABASE_URL; a
 * fresh database is created there), else embedded PGlite; a Temporal dev server with the WAL
 * pragmas is started in a temp dir.
 *
 *   ingest      events/s of api.request batches of 500 via HTTP  vs  raw multi-row INSERT of the same DB
 *   past window the same, from developers past their raw-request window (counted into rollups, no raw row)
 *   journeys    developers/s driven signup → production (seven milestones each) through HTTP → outbox →
 *               workflow → transition rows  vs  workflows/s of a trivial signal-counting workflow
 *               taking the same seven signals, on the same dev server
 *   latency     POST of a milestone event → its transition row, p50/p99, one at a time
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker as Thread } from 'node:worker_threads';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { pino } from 'pino';
import { EscalationPolicyStore } from '../src/rules/escalation-policy-store.ts';
import { RuleStore } from '../src/rules/rule-store.ts';
import { startTemporalDevServer } from '../src/temporal/dev-server.ts';
import { installTemporalRuntime } from '../src/temporal/install-runtime.ts';
import { assembleOnramp } from '../src/assembly/assemble-onramp.ts';
import { freePort } from '../src/temporal/free-port.ts';
import { testHandoffDeps } from '../test/support/handoff-deps.ts';
import { SIGNING_SECRET, testNudgeDeps } from '../test/support/nudge-deps.ts';
import { pingSignal, trivialSignalWorkflow } from './trivial-workflow.ts';
import { benchDatabase, cpuSeconds, percentile, runMain, waitFor } from './bench-support.ts';

const KEY = 'bench-ingest-key-0123456789abcdef';
const INGEST_EVENTS = Number(process.env.BENCH_INGEST_EVENTS ?? 200_000);
const RAW_ROWS = Number(process.env.BENCH_RAW_ROWS ?? 200_000);
const JOURNEYS = Number(process.env.BENCH_JOURNEYS ?? 400);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 200);
const IN_FLIGHT = 50;
const INGEST_CONCURRENCY = Number(process.env.BENCH_INGEST_CONCURRENCY ?? 4);
const MILESTONES_PER_JOURNEY = 7;

const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const seconds = (ms: number) => ms / 1000;
const progress = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
// The ingest developers' keys: 60 hours ago, so their timed traffic (two days on) is live and no
// stall rule or escalation is due yet (dated weeks ago, the warm-up became an escalation storm).
const t0 = Date.now() - 60 * 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

async function pool<T>(items: T[], concurrency: number, run: (item: T) => Promise<void>) {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await run(item);
    }),
  );
}

/**
 * POSTs the bodies from a worker thread, `INGEST_CONCURRENCY` in flight; resolves to the
 * milliseconds taken and the CPU used from the first POST on.
 */
function postFromGateway(url: string, bodies: string[]): Promise<{ milliseconds: number; cpu: ReturnType<typeof cpuPerThousand> }> {
  const gateway = new Thread(new URL('./http-load.mjs', import.meta.url), { workerData: { url, key: KEY, bodies, concurrency: INGEST_CONCURRENCY } });
  let cpu = cpuSeconds();
  return new Promise((resolve, reject) => {
    gateway.on('message', (m: { started?: true; milliseconds?: number }) => {
      if (m.started) cpu = cpuSeconds();
      else resolve({ milliseconds: m.milliseconds!, cpu: cpuPerThousand(cpu, INGEST_EVENTS) });
    });
    gateway.once('error', reject);
  });
}

async function main() {
  const { backend, database, db } = await benchDatabase();
  const temporalDir = mkdtempSync(join(tmpdir(), 'onramp-bench-'));
  installTemporalRuntime(logger);
  const server = await startTemporalDevServer({ dataDir: temporalDir, port: await freePort(), uiPort: await freePort() });
  const rulesFile = fileURLToPath(new URL('../config/rules.yaml', import.meta.url));
  // The shipped rules and escalation policy: journeys decide as they would in production.
  await new RuleStore(db.pool).ensureInitialVersion(rulesFile);
  await new EscalationPolicyStore(db.pool).ensureInitialVersion(fileURLToPath(new URL('../config/escalation.yaml', import.meta.url)));
  const { prisma } = db;
  const connection = await Connection.connect({ address: server.address });
  const temporal = new Client({ connection });
  const native = await NativeConnection.connect({ address: server.address });
  const trivialWorker = await Worker.create({
    connection: native,
    taskQueue: 'bench-trivial',
    workflowBundle: await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./trivial-workflow.ts', import.meta.url)),
      logger: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} },
    }),
  });
  const onramp = await assembleOnramp({
    db,
    logger,
    temporal,
    worker: { connection: native, namespace: 'default', nudges: testNudgeDeps(db.pool), handoffs: testHandoffDeps(db.pool) },
    api: { ingestKeys: [KEY], adminKeys: [], signingSecret: SIGNING_SECRET },
  });
  const url = await onramp.app.listen({ host: '127.0.0.1', port: 0 });
  const trivialRun = trivialWorker.run();

  const post = async (body: unknown) => {
    const response = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.status !== 202) throw new Error(`POST ${response.status}: ${await response.text()}`);
  };
  const results: Record<string, unknown> = { backend, date: new Date().toISOString() };
  try {
    progress(`${backend}: raw insert baseline`);
    // --- raw insert baseline (same database, same shape of rows) -------------------------------
    await db.pool.query(`CREATE TABLE bench_raw (id text PRIMARY KEY, type text, developer_id text, occurred_at timestamptz, endpoint text, status int, properties jsonb)`);
    let started = performance.now();
    const rawCpu = cpuSeconds();
    for (let i = 0; i < RAW_ROWS; i += 500) {
      const values: unknown[] = [];
      const rows: string[] = [];
      for (let j = i; j < Math.min(i + 500, RAW_ROWS); j++) {
        const b = values.length;
        rows.push(`($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7})`);
        values.push(
          `raw_${j}`,
          'api.request',
          `dev_${j % 1000}`,
          iso(t0 + j * 1000),
          `/v1/e${j % 7}`,
          200,
          JSON.stringify({ apiKey: `key_${j % 1000}`, method: 'GET', userAgent: 'curl/8' }),
        );
      }
      await db.pool.query(`INSERT INTO bench_raw VALUES ${rows.join(',')} ON CONFLICT DO NOTHING`, values);
    }
    const rawRate = RAW_ROWS / seconds(performance.now() - started);
    const rawCpuPerThousand = cpuPerThousand(rawCpu, RAW_ROWS);
    await db.pool.query('DROP TABLE bench_raw');

    progress(`raw insert: ${Math.round(rawRate)} rows/s; ingest over HTTP`);
    // --- ingest over HTTP ----------------------------------------------------------------------
    const developers = 1000;
    const keys = Array.from({ length: developers }, (_, d) => ({
      id: `k_${d}`,
      type: 'api_key.created',
      developerId: `ing_${d}`,
      occurredAt: iso(t0),
      properties: { apiKey: `key_${d}`, mode: 'test' },
    }));
    for (let i = 0; i < keys.length; i += 500) await post({ events: keys.slice(i, i + 500) });
    const batches: unknown[][] = [];
    // Four developers in five move between five endpoints (active integration in their first
    // timed batch); the fifth keep calling one endpoint, so each of their 2xx calls costs the
    // locked active-integration check for as long as the run lasts.
    const endpointOf = (n: number, developer: number) => `/v1/resource${developer % 5 === 0 ? 0 : Math.floor(n / developers) % 5}`;
    for (let i = 0; i < INGEST_EVENTS; i += 500) {
      batches.push(
        Array.from({ length: Math.min(500, INGEST_EVENTS - i) }, (_, k) => {
          const n = i + k;
          return {
            id: `req_${n}`,
            type: 'api.request',
            // Two days on: established developers, past their first session (no error-burst checks).
            occurredAt: iso(t0 + 2 * 86_400_000 + n * 100),
            properties: {
              apiKey: `key_${n % developers}`,
              endpoint: endpointOf(n, n % developers),
              method: 'GET',
              status: n % 17 === 0 ? 401 : 200,
              mode: 'test',
              userAgent: n % 3 ? 'acme-node/1.2.0' : 'curl/8.5.0',
              latencyMs: 42,
            },
          };
        }),
      );
    }
    // Warm-up, not timed: the milestones of this traffic (every developer's first call, and for the
    // movers a second endpoint: active integration), so that the timed part is steady gateway
    // traffic; the milestone path has its own figure below.
    const warmUp = Array.from({ length: developers }, (_, d) => {
      const call = (id: string, endpoint: string) => ({
        id,
        type: 'api.request',
        occurredAt: iso(t0 + 30_000),
        properties: { apiKey: `key_${d}`, endpoint, method: 'GET', status: 200, mode: 'test' },
      });
      return d % 5 === 0 ? [call(`warm_${d}`, endpointOf(0, d))] : [call(`warm_${d}`, '/v1/resource0'), call(`warm2_${d}`, '/v1/resource1')];
    }).flat();
    for (let i = 0; i < warmUp.length; i += 500) await post({ events: warmUp.slice(i, i + 500) });
    // Until the journeys have applied them, not only received them: Temporal stays busy until then.
    const reached = (stage: string) => prisma.journeyStage.count({ where: { stage, developerId: { startsWith: 'ing_' } } });
    await waitFor(async () => (await reached('first_api_call')) === developers && (await reached('active_integration')) === developers - developers / 5, 300_000);
    const gateway = await postFromGateway(
      `${url}/v1/events`,
      batches.map((events) => JSON.stringify({ events })),
    );
    const ingestRate = INGEST_EVENTS / seconds(gateway.milliseconds);
    results.ingest = {
      events: INGEST_EVENTS,
      eventsPerSecond: Math.round(ingestRate),
      rawInsertRowsPerSecond: Math.round(rawRate),
      ratio: +(ingestRate / rawRate).toFixed(2),
      // CPU milliseconds per 1,000 events (rows): what each side spent, the two competing for the machine's cores.
      cpuMsPerThousand: { ingest: gateway.cpu, rawInsert: rawCpuPerThousand },
    };
    progress(`ingest: ${Math.round(ingestRate)} events/s; developers past their window`);

    // --- ingest from developers past their raw-request window ---------------------------------
    // Signed up 200 days before their traffic: every request is counted into the rollups only.
    const pastStart = Array.from({ length: developers }, (_, d) => [
      {
        id: `past_signup_${d}`,
        type: 'developer.signed_up',
        developerId: `past_${d}`,
        occurredAt: iso(t0 - 200 * 86_400_000),
        properties: { email: `past_${d}@example.com`, accountType: 'individual', acquisitionChannel: 'organic_search' },
      },
      { id: `past_k_${d}`, type: 'api_key.created', developerId: `past_${d}`, occurredAt: iso(t0 - 200 * 86_400_000), properties: { apiKey: `past_key_${d}`, mode: 'test' } },
    ]).flat();
    const asPast = (e: { id: string; properties: { apiKey: string } }) => ({ ...e, id: `past_${e.id}`, properties: { ...e.properties, apiKey: `past_${e.properties.apiKey}` } });
    for (let i = 0; i < pastStart.length; i += 500) await post({ events: pastStart.slice(i, i + 500) });
    // Their first call too, not timed, as for the others.
    const pastWarmUp = warmUp.map(asPast);
    for (let i = 0; i < pastWarmUp.length; i += 500) await post({ events: pastWarmUp.slice(i, i + 500) });
    const pastReached = () => prisma.journeyStage.count({ where: { stage: 'first_api_call', developerId: { startsWith: 'past_' } } });
    await waitFor(async () => (await pastReached()) === developers && (await prisma.outboxSignal.count()) === 0, 300_000);
    const pastBatches = batches.map((events) => JSON.stringify({ events: (events as { id: string; properties: { apiKey: string } }[]).map(asPast) }));
    const past = await postFromGateway(`${url}/v1/events`, pastBatches);
    const pastRate = INGEST_EVENTS / seconds(past.milliseconds);
    const stored = await db.pool.query<{ raw: number }>(`SELECT count(*)::int AS raw FROM events WHERE developer_id LIKE 'past\\_%' AND type = 'api.request'`);
    if (stored.rows[0]!.raw !== 0) throw new Error(`${stored.rows[0]!.raw} requests past the window were stored raw`);
    results.pastWindow = {
      events: INGEST_EVENTS,
      eventsPerSecond: Math.round(pastRate),
      ratio: +(pastRate / rawRate).toFixed(2),
      cpuMsPerThousand: past.cpu,
    };
    progress(`past window: ${Math.round(pastRate)} events/s; waiting for the outbox to drain`);
    await waitFor(async () => (await prisma.outboxSignal.count()) === 0, 300_000);
    progress('trivial workflow baseline');

    // --- trivial signal-only workflow (baseline) ------------------------------------------------
    started = performance.now();
    let cpu = cpuSeconds();
    const trivial = Array.from({ length: JOURNEYS }, (_, w) => w);
    await pool(
      trivial
        .flatMap((w) => Array.from({ length: MILESTONES_PER_JOURNEY }, (_, s) => [w, s] as const))
        .sort((a, b) => a[1] - b[1] || a[0] - b[0])
        .map((x) => x),
      IN_FLIGHT,
      async ([w, s]) => {
        await temporal.workflow.signalWithStart(trivialSignalWorkflow, {
          workflowId: `trivial/${w}`,
          taskQueue: 'bench-trivial',
          args: [MILESTONES_PER_JOURNEY],
          signal: pingSignal,
          signalArgs: [`${w}-${s}`],
        });
      },
    );
    await Promise.all(trivial.map((w) => temporal.workflow.getHandle(`trivial/${w}`).result()));
    const trivialRate = (JOURNEYS * MILESTONES_PER_JOURNEY) / seconds(performance.now() - started);
    const trivialCpu = cpuPerThousand(cpu, JOURNEYS * MILESTONES_PER_JOURNEY);

    progress(`trivial: ${trivialRate.toFixed(1)} signals/s; milestones end to end`);
    // --- milestone events end to end ------------------------------------------------------------
    // Live traffic, dated now: each milestone schedules the next stage's nudge (a timer), as in
    // production. (Dated weeks ago, every stall rule would be due at once: a backfill, not this.)
    const liveBase = Date.now() - 2 * 3_600_000;
    const journey = (d: number) => {
      const dev = `ms_${d}`;
      const k = `mskey_${d}`;
      const t = (m: number) => iso(liveBase + d * 1000 + m * 60_000);
      return [
        { id: `${dev}-1`, type: 'docs.viewed', developerId: dev, occurredAt: t(0) },
        {
          id: `${dev}-2`,
          type: 'developer.signed_up',
          developerId: dev,
          occurredAt: t(1),
          properties: { email: `${dev}@example.com`, accountType: 'individual', acquisitionChannel: 'organic_search' },
        },
        { id: `${dev}-3`, type: 'api_key.created', developerId: dev, occurredAt: t(2), properties: { apiKey: k, mode: 'test' } },
        { id: `${dev}-4`, type: 'api.request', occurredAt: t(3), properties: { apiKey: k, endpoint: '/v1/a', method: 'GET', status: 200, mode: 'test' } },
        { id: `${dev}-5`, type: 'quickstart.completed', developerId: dev, occurredAt: t(4) },
        { id: `${dev}-6`, type: 'api.request', occurredAt: t(5), properties: { apiKey: k, endpoint: '/v1/b', method: 'GET', status: 200, mode: 'test' } },
        { id: `${dev}-7`, type: 'api.request', occurredAt: t(6), properties: { apiKey: k, endpoint: '/v1/b', method: 'POST', status: 201, mode: 'live' } },
      ];
    };
    started = performance.now();
    cpu = cpuSeconds();
    await pool(
      Array.from({ length: JOURNEYS }, (_, d) => d),
      IN_FLIGHT,
      async (d) => {
        for (const event of journey(d)) await post(event);
      },
    );
    const expected = JOURNEYS * MILESTONES_PER_JOURNEY;
    // Done when every developer's seven stages are recorded (transitions can be fewer if the
    // dispatcher retried a signal and a journey heard two events out of order).
    await waitFor(async () => (await prisma.journeyStage.count({ where: { developerId: { startsWith: 'ms_' } } })) >= expected, 600_000);
    const milestoneRate = expected / seconds(performance.now() - started);
    const milestoneCpu = cpuPerThousand(cpu, expected);
    results.milestones = {
      journeys: JOURNEYS,
      developersPerSecond: +(milestoneRate / MILESTONES_PER_JOURNEY).toFixed(1),
      trivialWorkflowsPerSecond: +(trivialRate / MILESTONES_PER_JOURNEY).toFixed(1),
      milestoneEventsPerSecond: +milestoneRate.toFixed(1),
      trivialSignalsPerSecond: +trivialRate.toFixed(1),
      ratio: +(milestoneRate / trivialRate).toFixed(2),
      cpuMsPerThousand: { milestones: milestoneCpu, trivialSignals: trivialCpu },
    };

    progress(`milestones: ${milestoneRate.toFixed(1)} events/s; latency`);
    // --- POST → transition row latency, below saturation ---------------------------------------
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const dev = `lat_${i}`;
      const begin = performance.now();
      await post({
        id: `${dev}-s`,
        type: 'developer.signed_up',
        developerId: dev,
        occurredAt: iso(t0),
        properties: { email: `${dev}@example.com`, accountType: 'individual', acquisitionChannel: 'paid' },
      });
      await waitFor(async () => (await prisma.journeyTransition.count({ where: { developerId: dev } })) > 0, 30_000, 2);
      latencies.push(performance.now() - begin);
      await new Promise((r) => setTimeout(r, 20));
    }
    latencies.sort((a, b) => a - b);
    results.latency = { samples: LATENCY_SAMPLES, p50Ms: +percentile(latencies, 0.5).toFixed(1), p99Ms: +percentile(latencies, 0.99).toFixed(1), targetP99Ms: 250 };
  } finally {
    await onramp.stop();
    trivialWorker.shutdown();
    await trivialRun;
    await native.close();
    await connection.close();
    await db.close();
    await server.stop();
    await database.drop();
    rmSync(temporalDir, { recursive: true, force: true });
  }
  report(results);
}

/** CPU milliseconds per 1,000 units of work since `since`: this process (API, worker, load generator), PostgreSQL, Temporal. */
function cpuPerThousand(since: ReturnType<typeof cpuSeconds>, units: number): ReturnType<typeof cpuSeconds> {
  const now = cpuSeconds();
  const per = (seconds: number) => +((seconds * 1e6) / units).toFixed(1);
  return { node: per(now.node - since.node), postgres: per(now.postgres - since.postgres), temporal: per(now.temporal - since.temporal) };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the run's results: a free-form record, written out as JSON
function report(results: Record<string, any>) {
  const { ingest, pastWindow, milestones, latency } = results;
  const rows = [
    ['ingest (api.request, batches of 500, HTTP)', `${ingest.eventsPerSecond} events/s`, `raw INSERT ${ingest.rawInsertRowsPerSecond} rows/s`, `${ingest.ratio}× (target ≥ 0.7)`],
    [
      'ingest from developers past their raw-request window (rollups only)',
      `${pastWindow.eventsPerSecond} events/s`,
      `raw INSERT ${ingest.rawInsertRowsPerSecond} rows/s`,
      `${pastWindow.ratio}× (target ≥ 0.9)`,
    ],
    [
      'journeys signup → production (7 milestones, HTTP → journey → rows)',
      `${milestones.developersPerSecond} developers/s (${milestones.milestoneEventsPerSecond} events/s)`,
      `trivial workflow ${milestones.trivialWorkflowsPerSecond} workflows/s (${milestones.trivialSignalsPerSecond} signals/s)`,
      `${milestones.ratio}× (target ≥ 0.8)`,
    ],
    ['POST → transition row, one at a time', `p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms`, '', `target p99 < 100 ms`],
  ];
  process.stdout.write(`\nOnramp bench (${results.backend}, ${results.date})\n\n| what | Onramp | baseline, same run | ratio |\n|---|---|---|---|\n`);
  for (const row of rows) process.stdout.write(`| ${row.join(' | ')} |\n`);
  const cpu = (c: { node: number; postgres: number; temporal: number }) => `${c.node} Node + ${c.postgres} PostgreSQL + ${c.temporal} Temporal`;
  process.stdout.write(
    `\nCPU ms per 1,000 (Node: this process — API, worker, dispatcher, load generator):\n` +
      `  ingest events ${cpu(ingest.cpuMsPerThousand.ingest)}; past the window ${cpu(pastWindow.cpuMsPerThousand)}; raw INSERT rows ${cpu(ingest.cpuMsPerThousand.rawInsert)}\n` +
      `  milestone events ${cpu(milestones.cpuMsPerThousand.milestones)}; trivial signals ${cpu(milestones.cpuMsPerThousand.trivialSignals)}\n`,
  );
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `bench-${results.backend}-${Date.now()}.json`), JSON.stringify(results, null, 2));
}

runMain(main);
