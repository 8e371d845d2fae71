/**
 * `npm run bench:recompute`: the recomputation of every developer's stages under a new funnel
 * version (what `PUT /v1/funnel` starts) over RECOMPUTE_DEVELOPERS seeded developers (100,000 by
 * default) on PostgreSQL (BENCH_DATABASE_URL or TEST_DATABASE_URL; PGlite otherwise). The baseline,
 * measured in the same run, reads the same events in the same batches and does nothing else: the
 * floor the recomputation's evaluation, writes and signals stand on.
 */
import { performance } from 'node:perf_hooks';
import { applyFunnelChange } from '../src/funnel/funnel-change.ts';
import { SHIPPED_FUNNEL_FILE } from '../src/funnel/funnel-file.ts';
import { FunnelStore } from '../src/funnel/funnel-store.ts';
import { FunnelRecomputer } from '../src/ingest/funnel-recomputation.ts';
import { EscalationPolicyStore } from '../src/rules/escalation-policy-store.ts';
import { RuleStore } from '../src/rules/rule-store.ts';
import { seedDevelopers } from './seed-developers.ts';
import { benchDatabase, runMain } from './bench-support.ts';

const DEVELOPERS = Number(process.env.RECOMPUTE_DEVELOPERS ?? 100_000);
const BATCH = 200;

/** The shipped funnel with one stage of a product's own: a first charge (a POST to /v1/resource1). */
const CANDIDATE = `stages:
  - id: account_created
    evidence: [{ event: developer.signed_up }]
  - id: first_api_call
    role: first_call
    evidence: [{ request: { status: 2xx } }]
  - id: first_charge
    evidence: [{ request: { status: 2xx, endpoint: /v1/resource1 } }]
  - id: active_integration
    evidence: [{ request: { status: 2xx, distinctEndpoints: 2, within: 24h } }]
  - id: production_deployment
    role: production
    evidence: [{ request: { status: 2xx, mode: live } }]
`;

async function main() {
  const { backend, database, db } = await benchDatabase();
  try {
    await seedDevelopers(db.pool, DEVELOPERS);
    // What ingest stores and the seed leaves out: a signup event each, the request fields in properties.
    await db.pool.query(`INSERT INTO events (id, type, developer_id, occurred_at, properties)
      SELECT signup_event_id, 'developer.signed_up', id, signed_up_at, '{}'::jsonb FROM developers WHERE signed_up_at IS NOT NULL`);
    await db.pool.query(`UPDATE events SET properties = jsonb_build_object('endpoint', endpoint, 'method', 'GET', 'status', status, 'mode', mode) WHERE type = 'api.request'`);
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM events`);
    await new FunnelStore(db.pool).ensureInitialVersion(SHIPPED_FUNNEL_FILE);

    // Baseline: the same batches of developers, their events read, nothing evaluated or written.
    let begin = performance.now();
    let last: string | null = null;
    for (;;) {
      const ids: string[] = (
        await db.pool.query<{ id: string }>(`SELECT id FROM developers WHERE $1::text IS NULL OR id COLLATE "C" > $1::text ORDER BY id COLLATE "C" LIMIT $2`, [last, BATCH])
      ).rows.map((r) => r.id);
      if (ids.length === 0) break;
      await db.pool.query(`SELECT id, type, developer_id, occurred_at, properties FROM events WHERE developer_id = ANY($1::text[])`, [ids]);
      last = ids.at(-1)!;
    }
    const baseline = performance.now() - begin;

    const stores = { funnel: new FunnelStore(db.pool), rules: new RuleStore(db.pool), escalationPolicy: new EscalationPolicyStore(db.pool) };
    const applied = await applyFunnelChange(db.pool, stores, { source: CANDIDATE, author: 'bench', reason: 'recomputation rate' });
    if (!applied.ok) throw new Error(JSON.stringify(applied.errors));
    const recomputer = new FunnelRecomputer(db.pool, { batchSize: BATCH });
    begin = performance.now();
    await recomputer.run();
    const recompute = performance.now() - begin;
    const status = await recomputer.status();
    const rate = (status!.developersDone / recompute) * 1000;
    process.stdout.write(
      `| recomputation under a new funnel version (${DEVELOPERS.toLocaleString('en')} developers, ${rows[0]!.n.toLocaleString('en')} events, ${backend}) | ${(recompute / 1000).toFixed(1)} s | ${Math.round(rate).toLocaleString('en')} developers/s | ${(baseline / recompute).toFixed(2)}× of reading the same events (${(baseline / 1000).toFixed(1)} s) |\n`,
    );
  } finally {
    await db.close();
    await database.drop();
  }
}

runMain(main);
