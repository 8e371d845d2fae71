/**
 * `npm run bench:storage`: bytes per developer during and after onboarding (docs/concepts/storage.md).
 * STORAGE_DEVELOPERS developers (default 100) sign up 180 days ago and call the API every day since
 * (STORAGE_REQUESTS_PER_DAY, default 50, over five endpoints; 40 in their first session); half reach
 * the final stage on day 14. The same traffic is stored twice, in fresh databases on the PostgreSQL
 * of BENCH_DATABASE_URL or TEST_DATABASE_URL (else PGlite): once with no raw-request window (every
 * request raw, as before the window existed), once with the default window, then the retention round.
 */
import { ingestEvent } from '../src/events/event-schemas.ts';
import { EventIngestor } from '../src/ingest/event-ingestor.ts';
import { applyRetention } from '../src/retention/apply-retention.ts';
import { DEFAULT_RAW_REQUEST_WINDOW, type RawRequestWindow } from '../src/retention/raw-request-window.ts';
import { shippedFunnel } from '../src/funnel/funnel-file.ts';
import { stageWithRole } from '../src/funnel/funnel-in-force.ts';
import { benchDatabase, runMain } from './bench-support.ts';

const DEVELOPERS = Number(process.env.STORAGE_DEVELOPERS ?? 100);
const PER_DAY = Number(process.env.STORAGE_REQUESTS_PER_DAY ?? 50);
const DAYS = 180;
const DAY = 86_400_000;
const now = Date.now();
const signup = now - DAYS * DAY;
const FUNNEL = shippedFunnel().document;
const FINAL = FUNNEL.stages.at(-1)!.id;
const progress = (message: string) => process.stderr.write(`[bench:storage ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

/** Bytes (heap, indexes, TOAST) of the events, the request ids, the rollups and the per-endpoint totals. */
const STORAGE_SQL = `SELECT
  (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c WHERE c.relkind = 'r' AND c.relname LIKE 'events\\_%') AS events,
  (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c WHERE c.relkind = 'r' AND c.relname LIKE 'event\\_ids\\_%') AS ids,
  pg_total_relation_size('request_rollups') AS rollups,
  pg_total_relation_size('developer_endpoints') AS totals`;

type Stored = { events: string; ids: string; rollups: string; totals: string };

function* traffic(): Generator<unknown[]> {
  const start = Array.from({ length: DEVELOPERS }, (_, d) => [
    {
      id: `s_${d}`,
      type: 'developer.signed_up',
      developerId: `dev_${d}`,
      occurredAt: new Date(signup).toISOString(),
      properties: { email: `dev_${d}@example.com`, accountType: 'individual', acquisitionChannel: 'organic_search' },
    },
    { id: `k_${d}`, type: 'api_key.created', developerId: `dev_${d}`, occurredAt: new Date(signup + 60_000).toISOString(), properties: { apiKey: `key_${d}`, mode: 'test' } },
  ]).flat();
  yield start;
  let batch: unknown[] = [];
  for (let day = 0; day < DAYS; day++) {
    const perDay = day === 0 ? 40 : PER_DAY;
    for (let d = 0; d < DEVELOPERS; d++)
      for (let n = 0; n < perDay; n++) {
        batch.push({
          id: `r_${d}_${day}_${n}`,
          type: 'api.request',
          occurredAt: new Date(signup + day * DAY + 3_600_000 + n * 60_000).toISOString(),
          properties: { apiKey: `key_${d}`, endpoint: `/v1/resource${n % 5}`, method: 'GET', status: n % 13 === 0 ? 404 : 200, mode: 'live', userAgent: 'acme-node/1.2.0' },
        });
        if (batch.length === 500) {
          yield batch;
          batch = [];
        }
      }
  }
  if (batch.length > 0) yield batch;
}

async function store(window: RawRequestWindow, retention: boolean) {
  const { database, db } = await benchDatabase();
  try {
    const ingestor = new EventIngestor(db.pool, { rawRequestWindow: window });
    let first = true;
    let requests = 0;
    for (const batch of traffic()) {
      await ingestor.ingest(batch.map((e) => ingestEvent.parse(e)));
      if (first) {
        // Half of them reached the final stage on day 14 (the journey's record of it).
        await db.pool.query(`UPDATE developers SET stage = $1, stage_at = $2 WHERE id IN (SELECT 'dev_' || n FROM generate_series(0, $3::int - 1, 2) AS n)`, [
          FINAL,
          new Date(signup + 14 * DAY),
          DEVELOPERS,
        ]);
        first = false;
      } else requests += batch.length;
    }
    await db.pool.query('VACUUM ANALYZE');
    const read = async () => (await db.pool.query<Stored>(STORAGE_SQL)).rows[0]!;
    const stored = await read();
    const rawRows = Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE type = 'api.request'`)).rows[0]!.n);
    let after: typeof stored | undefined;
    if (retention) {
      progress('retention round');
      await applyRetention(db.pool, { window, firstCallStage: stageWithRole(FUNNEL, 'first_call') ?? null, now: new Date(now) });
      await db.pool.query('VACUUM ANALYZE');
      after = await read();
    }
    return { requests, rawRows, stored, after };
  } finally {
    await db.close();
    await database.drop();
  }
}

async function main() {
  progress(`${DEVELOPERS} developers × ${DAYS} days: no window (every request raw)`);
  const forever = await store({ ...DEFAULT_RAW_REQUEST_WINDOW, afterSignupMs: 100 * 365 * DAY, afterFinalStageMs: 100 * 365 * DAY }, false);
  progress('default window');
  const windowed = await store(DEFAULT_RAW_REQUEST_WINDOW, true);
  const kib = (bytes: number) => `${(bytes / DEVELOPERS / 1024).toFixed(1)} KiB`;
  // Every request of the run arrived today, so every id is still kept; in a steady state the ids
  // kept are those of the last dedupDays + 1 days of traffic.
  const DEDUP_DAYS = DEFAULT_RAW_REQUEST_WINDOW.dedupDays;
  const idBytes = Number(forever.stored.ids) / forever.requests;
  const steadyIds = idBytes * DEVELOPERS * PER_DAY * (DEDUP_DAYS + 1);
  const row = (what: string, s: Stored, ids: number) => {
    const total = Number(s.events) + ids + Number(s.rollups) + Number(s.totals);
    return `| ${what} | ${kib(Number(s.events))} | ${kib(ids)} | ${kib(Number(s.rollups))} | ${kib(Number(s.totals))} | ${kib(total)} |`;
  };
  process.stdout.write(
    `\nStorage per developer (${DEVELOPERS} developers, ${forever.requests} requests over ${DAYS} days, ${PER_DAY} a day each; ` +
      `${Math.round(Number(forever.stored.events) / forever.requests)} bytes per raw request, ${Math.round(idBytes)} per id kept)\n\n` +
      `| storage | events | request ids (${DEDUP_DAYS + 1} days of traffic) | rollups | per-endpoint totals | all |\n|---|---|---|---|---|---|\n` +
      [
        row('no window: every request raw', forever.stored, steadyIds),
        row(`window, at ingest (${windowed.rawRows} of ${windowed.requests} requests raw)`, windowed.stored, steadyIds),
        row('window, after the retention round', windowed.after!, steadyIds),
      ].join('\n') +
      '\n',
  );
}

runMain(main);
