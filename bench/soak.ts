/**
 * `npm run bench:soak`: storage under steady traffic from developers past their raw-request window
 * (docs/concepts/storage.md). SOAK_DEVELOPERS developers (default 2,000) signed up 200 days ago; the
 * API (Fastify on a real socket, its ingestor with the default window) takes SOAK_RATE api.request events a second
 * (default 5,000) in batches of 500 for SOAK_MINUTES (default 30), with the retention round every
 * SOAK_RETENTION_EVERY seconds (default 300). Every SOAK_SAMPLE_EVERY seconds (default 60) it reads
 * the bytes of each store, and it reports them per minute against the events sent. On the
 * PostgreSQL of BENCH_DATABASE_URL or TEST_DATABASE_URL, else PGlite.
 */
import { Client } from '@temporalio/client';
import { pino } from 'pino';
import { buildApp } from '../src/api/build-app.ts';
import { applyRetention } from '../src/retention/apply-retention.ts';
import { DEFAULT_RAW_REQUEST_WINDOW } from '../src/retention/raw-request-window.ts';
import { shippedFunnel } from '../src/funnel/funnel-file.ts';
import { stageWithRole } from '../src/funnel/funnel-in-force.ts';
import { shippedFunnelInForce } from '../test/support/shipped-funnel.ts';
import { benchDatabase, cpuSeconds, percentile, runMain } from './bench-support.ts';

const DEVELOPERS = Number(process.env.SOAK_DEVELOPERS ?? 2_000);
const RATE = Number(process.env.SOAK_RATE ?? 5_000);
const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const SAMPLE_EVERY_S = Number(process.env.SOAK_SAMPLE_EVERY ?? 60);
const RETENTION_EVERY_S = Number(process.env.SOAK_RETENTION_EVERY ?? 300);
const BATCH = 500;
const KEY = 'bench-soak-ingest-key-0123456789';
const DAY = 86_400_000;
const progress = (message: string) => process.stderr.write(`[bench:soak ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

/** Bytes (heap, indexes, TOAST) of each store the ingest writes, and the WAL written so far. */
const STORAGE_SQL = `SELECT
  (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c WHERE c.relkind = 'r' AND c.relname LIKE 'events\\_%')::bigint AS events,
  (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c WHERE c.relkind = 'r' AND c.relname LIKE 'event\\_ids\\_%')::bigint AS ids,
  pg_total_relation_size('request_rollups')::bigint AS rollups,
  pg_total_relation_size('developer_endpoints')::bigint AS totals,
  pg_total_relation_size('outbox_signals')::bigint AS outbox,
  (SELECT count(*) FROM request_rollups)::bigint AS rollup_rows,
  (SELECT count(*) FROM events WHERE type = 'api.request')::bigint AS raw_requests`;
type Sample = { at: number; sent: number; events: string; ids: string; rollups: string; totals: string; outbox: string; rollup_rows: string; raw_requests: string };

async function main() {
  const { backend, database, db } = await benchDatabase();
  const funnel = shippedFunnel().document;
  const app = await buildApp({
    db,
    temporal: new Client(),
    logger: pino({ level: 'warn' }),
    ingestKeys: [KEY],
    adminKeys: [],
    signingSecret: 's'.repeat(32),
    funnel: shippedFunnelInForce,
  });
  const url = `${await app.listen({ host: '127.0.0.1', port: 0 })}/v1/events`;
  const post = async (body: string) => {
    const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body });
    if (response.status !== 202) throw new Error(`POST ${response.status}: ${await response.text()}`);
  };
  try {
    // Developers who signed up 200 days ago: past the 90-day window after signup.
    const signedUp = new Date(Date.now() - 200 * DAY).toISOString();
    const start = Array.from({ length: DEVELOPERS }, (_, d) => [
      {
        id: `s_${d}`,
        type: 'developer.signed_up',
        developerId: `dev_${d}`,
        occurredAt: signedUp,
        properties: { email: `dev_${d}@example.com`, accountType: 'individual', acquisitionChannel: 'organic_search' },
      },
      { id: `k_${d}`, type: 'api_key.created', developerId: `dev_${d}`, occurredAt: signedUp, properties: { apiKey: `key_${d}`, mode: 'live' } },
    ]).flat();
    for (let i = 0; i < start.length; i += BATCH) await post(JSON.stringify({ events: start.slice(i, i + BATCH) }));
    let n = 0;
    const batch = () =>
      JSON.stringify({
        events: Array.from({ length: BATCH }, () => {
          const i = n++;
          return {
            id: `r_${i}`,
            type: 'api.request',
            occurredAt: new Date().toISOString(),
            properties: {
              apiKey: `key_${i % DEVELOPERS}`,
              endpoint: `/v1/resource${Math.floor(i / DEVELOPERS) % 5}`,
              method: 'GET',
              status: i % 17 === 0 ? 401 : 200,
              mode: 'live',
              userAgent: i % 3 ? 'acme-node/1.2.0' : 'curl/8.5.0',
              latencyMs: 42,
            },
          };
        }),
      });
    // Each developer's first requests past the window (their first calls, proved once): not measured.
    for (let i = 0; i < (DEVELOPERS * 5) / BATCH; i++) await post(batch());
    await db.pool.query('VACUUM ANALYZE');

    const samples: Sample[] = [];
    const sample = async (sent: number) => samples.push({ at: Date.now(), sent, ...(await db.pool.query(STORAGE_SQL)).rows[0] });
    const retention = async () => applyRetention(db.pool, { window: DEFAULT_RAW_REQUEST_WINDOW, firstCallStage: stageWithRole(funnel, 'first_call') ?? null });
    await retention();
    const sentBefore = n;
    await sample(0);
    progress(`${backend}: ${DEVELOPERS} developers past their window; ${RATE} events/s for ${MINUTES} min`);
    const cpu = cpuSeconds();
    const began = Date.now();
    const end = began + MINUTES * 60_000;
    const latencies: number[] = [];
    let late = 0;
    let nextSample = began + SAMPLE_EVERY_S * 1000;
    let nextRetention = began + RETENTION_EVERY_S * 1000;
    const inFlight = new Set<Promise<void>>();
    // A batch every BATCH / RATE seconds on a fixed schedule: a slow answer does not slow the sender
    // (up to 8 batches in flight; beyond, the schedule slips and the report says by how much).
    for (let due = began; due < end; due += (BATCH / RATE) * 1000) {
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else late++;
      while (inFlight.size >= 8) await Promise.race(inFlight);
      const body = batch();
      const sent = performance.now();
      const p = post(body).then(() => void latencies.push(performance.now() - sent));
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      if (Date.now() >= nextRetention) {
        nextRetention += RETENTION_EVERY_S * 1000;
        const report = await retention();
        progress(`retention round: created ${report.created.length}, dropped ${report.dropped.length} months, ${report.droppedIdDays.length} id days`);
      }
      if (Date.now() >= nextSample) {
        nextSample += SAMPLE_EVERY_S * 1000;
        await sample(n - sentBefore);
        const s = samples.at(-1)!;
        progress(
          `${Math.round((s.at - began) / 60_000)} min: ${s.sent} sent; events ${mib(s.events)}, ids ${mib(s.ids)}, rollups ${mib(s.rollups)} (${s.rollup_rows} rows), totals ${mib(s.totals)}`,
        );
      }
    }
    await Promise.all(inFlight);
    const elapsed = (Date.now() - began) / 1000;
    const used = cpuSeconds();
    await retention();
    await sample(n - sentBefore);
    const sent = n - sentBefore;
    const first = samples[0]!;
    const last = samples.at(-1)!;
    const growth = (key: 'events' | 'ids' | 'rollups' | 'totals' | 'outbox') => Number(last[key]) - Number(first[key]);
    const perRequest = (key: 'events' | 'ids' | 'rollups' | 'totals' | 'outbox') => (growth(key) / sent).toFixed(1);
    process.stdout.write(
      `\nSoak: ${sent} api.request events from ${DEVELOPERS} developers past their window in ${elapsed.toFixed(0)} s ` +
        `(${Math.round(sent / elapsed)} events/s, target ${RATE}; ${late} batches sent late), ${backend}\n` +
        `POST latency p50 ${percentile(latencies, 0.5).toFixed(0)} ms, p99 ${percentile(latencies, 0.99).toFixed(0)} ms; ` +
        `CPU per 1,000 events: Node ${(((used.node - cpu.node) * 1e6) / sent).toFixed(1)} ms, PostgreSQL ${(((used.postgres - cpu.postgres) * 1e6) / sent).toFixed(1)} ms\n` +
        `raw request rows stored during the soak: ${Number(last.raw_requests) - Number(first.raw_requests)}\n\n` +
        `| minutes | sent | events | request ids | rollups (rows) | per-endpoint totals | outbox |\n|---|---|---|---|---|---|---|\n` +
        samples
          .map(
            (s) =>
              `| ${((s.at - first.at) / 60_000).toFixed(1)} | ${s.sent} | ${mib(s.events)} | ${mib(s.ids)} | ${mib(s.rollups)} (${s.rollup_rows}) | ${mib(s.totals)} | ${mib(s.outbox)} |`,
          )
          .join('\n') +
        `\n\ngrowth per request sent: events ${perRequest('events')} B, ids ${perRequest('ids')} B, rollups ${perRequest('rollups')} B, totals ${perRequest('totals')} B, outbox ${perRequest('outbox')} B\n`,
    );
  } finally {
    await app.close();
    await db.close();
    await database.drop();
  }
}

const mib = (bytes: string | number) => `${(Number(bytes) / 1024 / 1024).toFixed(1)} MiB`;

runMain(main);
