/**
 * `npm run bench:alerts`: one alert evaluation round (every detector, the bookkeeping; no Slack)
 * over ALERTS_DEVELOPERS seeded developers (100,000 by default): signups over the ten weeks before
 * the instant evaluated, 60 % at the first call, three endpoints and 24 first-session requests
 * each, on PostgreSQL (BENCH_DATABASE_URL or TEST_DATABASE_URL; PGlite otherwise). An alert
 * evaluation runs every ONRAMP_ALERTS_EVERY (5 minutes) in each API process.
 */
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { AlertEvaluator } from '../src/alerts/alert-evaluator.ts';
import { SHIPPED_ALERTS_FILE } from '../src/rules/alerts-file.ts';
import { AlertsStore } from '../src/rules/alerts-store.ts';
import { shippedFunnel } from '../src/funnel/funnel-file.ts';
import { benchDatabase, runMain } from './bench-support.ts';

const DEVELOPERS = Number(process.env.ALERTS_DEVELOPERS ?? 100_000);
const ROUNDS = 5;
const NOW = new Date('2026-12-09T12:00:00Z');

runMain(async () => {
  const { backend, database, db } = await benchDatabase();
  const q = (sql: string, params: unknown[] = []) => db.pool.query(sql, params);
  try {
    let started = performance.now();
    await q(
      `INSERT INTO developers (id, account_type, acquisition_channel, signed_up_at)
       SELECT 'd' || n, 'individual', 'organic', $1::timestamptz - (n % 70) * interval '1 day' - (n % 24) * interval '1 hour' FROM generate_series(1, $2) n`,
      [NOW, DEVELOPERS],
    );
    await q(`INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id) SELECT id, 'account_created', signed_up_at, id || '-s' FROM developers`);
    await q(
      `INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id)
       SELECT id, 'first_api_call', signed_up_at + (abs(hashtext(id)) % 120 + 1) * interval '1 hour', id || '-c' FROM developers WHERE abs(hashtext(id)) % 10 < 6`,
    );
    await q(
      `INSERT INTO developer_endpoints (developer_id, endpoint, requests, first_at, last_at)
       SELECT d.id, 'GET /v1/e' || e, 8, d.signed_up_at + interval '1 hour', d.signed_up_at + interval '5 hours' FROM developers d, generate_series(1, 3) e`,
    );
    await q(
      `INSERT INTO events (id, type, developer_id, occurred_at, endpoint, status)
       SELECT d.id || '-' || e || '-' || r, 'api.request', d.id, d.signed_up_at + interval '1 hour' + r * interval '20 minutes', 'GET /v1/e' || e, CASE WHEN r = 1 THEN 401 ELSE 200 END
         FROM developers d, generate_series(1, 3) e, generate_series(1, 8) r`,
    );
    await q(`INSERT INTO source_stats (source, last_received_at) VALUES ('segment', $1), ('events', $2)`, [new Date(NOW.getTime() - 8 * 3_600_000), NOW]);
    await q('ANALYZE');
    process.stdout.write(`${backend}: seeded ${DEVELOPERS} developers, ${DEVELOPERS * 24} requests in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);

    const store = new AlertsStore(db.pool);
    await store.ensureInitialVersion(SHIPPED_ALERTS_FILE);
    const funnel = shippedFunnel();
    const evaluator = new AlertEvaluator({
      pool: db.pool,
      store,
      funnel: async () => funnel,
      publicUrl: 'https://onramp.example.com',
      logger: pino({ level: 'silent' }),
      now: () => NOW,
    });
    for (let round = 1; round <= ROUNDS; round++) {
      started = performance.now();
      const result = await evaluator.evaluate();
      process.stdout.write(`round ${round}: ${(performance.now() - started).toFixed(0)} ms ${JSON.stringify(result)}\n`);
    }
  } finally {
    await db.close();
    await database.drop();
  }
});
