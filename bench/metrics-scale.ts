/**
 * `npm run bench:metrics`: every metrics endpoint against 100,000 seeded developers (METRICS_DEVELOPERS
 * to change it) and 50 api.request events a developer (METRICS_REQUESTS in all), on PostgreSQL (BENCH_DATABASE_URL or TEST_DATABASE_URL; PGlite otherwise), each timed
 * through the HTTP app in-process: five requests, the median and the slowest. Target: < 1 s each.
 */
import { performance } from 'node:perf_hooks';
import { Client } from '@temporalio/client';
import pino from 'pino';
import { buildApp } from '../src/api/build-app.ts';
import { shippedFunnelInForce } from '../test/support/shipped-funnel.ts';
import type pg from 'pg';
import { crossingsOnHistory, hourOf } from '../src/metrics/risk-crossings.ts';
import { RiskModels } from '../src/metrics/stagnation-risk-query.ts';
import { escalationPolicyDocument } from '../src/rules/escalation-policy-schema.ts';
import { rulesDocument } from '../src/rules/rules-schema.ts';
import { seedDevelopers } from './seed-developers.ts';
import { benchDatabase, runMain } from './bench-support.ts';

const DEVELOPERS = Number(process.env.METRICS_DEVELOPERS ?? 100_000);
const REQUESTS = Number(process.env.METRICS_REQUESTS ?? DEVELOPERS * 50);
const KEY = 'bench-metrics-key-0123456789';
const ENDPOINTS = [
  '/v1/metrics/conversion',
  '/v1/metrics/conversion?unit=organization',
  '/v1/metrics/ttfac',
  '/v1/metrics/ttfac?unit=organization',
  '/v1/metrics/production',
  '/v1/metrics/production?unit=organization',
  '/v1/metrics/sdk',
  '/v1/metrics/depth',
  '/v1/metrics/errors',
  '/v1/metrics/engagement',
  '/v1/metrics/automation',
  '/v1/metrics/frictions',
  '/v1/metrics/frictions?groupBy=cohort',
  '/v1/metrics/frictions?groupBy=channel',
  '/v1/metrics/emails',
  '/v1/metrics/experiments',
  '/v1/changes',
  `/v1/metrics/before-after?at=${new Date(Date.now() - 30 * 86_400_000).toISOString()}&stage=credential_provisioned`,
  '/v1/developers?stage=credential_provisioned&limit=50',
  '/v1/developers?stalled=true&escalated=false&limit=50',
  '/v1/developers?limit=50',
  '/v1/developers?reached=first_api_call&notReached=active_integration&limit=50',
  '/v1/developers?cohort=2026-W40&reached=active_integration&limit=50',
  '/v1/developers?engagement=new&limit=50',
  '/v1/developers?sort=risk&limit=50',
  '/v1/developers?sort=risk&stage=credential_provisioned&limit=50',
  '/v1/developers/seed_42/risk',
  '/v1/handoffs?status=active&order=risk&limit=50',
  '/v1/organizations?limit=50',
  '/v1/organizations?stage=credential_provisioned&limit=50',
  '/v1/organizations?search=org_7&limit=50',
  '/v1/organizations?individuals=true&limit=50',
  '/v1/organizations?individuals=true&stage=first_api_call&limit=50',
  '/v1/organizations/org_7',
  '/metrics',
];

async function main() {
  const { backend, database, db } = await benchDatabase();
  // The metrics endpoints never call Temporal; a lazy client never connects.
  const app = await buildApp({
    db,
    temporal: new Client(),
    logger: pino({ level: 'silent' }),
    ingestKeys: [],
    adminKeys: [KEY],
    signingSecret: 'bench-signing-secret-0123456789abcdef',
    funnel: shippedFunnelInForce,
  });
  try {
    const seeding = performance.now();
    await seedDevelopers(db.pool, DEVELOPERS, REQUESTS);
    const counts = (
      await db.pool.query<{ stages: number; raw: number; rolled: number; events: number }>(
        `SELECT (SELECT count(*) FROM journey_stages)::int AS stages, (SELECT count(*) FROM events WHERE type = 'api.request')::int AS raw,
                (SELECT coalesce(sum(requests), 0) FROM request_rollups)::int AS rolled, (SELECT count(*) FROM events)::int AS events`,
      )
    ).rows[0]!;
    const n = (x: number) => x.toLocaleString('en');
    process.stdout.write(
      `seeded ${n(DEVELOPERS)} developers (${n(counts.stages)} stage rows; ${n(counts.raw + counts.rolled)} api.request events: ${n(counts.raw)} raw, ${n(counts.rolled)} in rollups; ${n(counts.events)} events stored) in ${((performance.now() - seeding) / 1000).toFixed(1)} s\n\n`,
    );
    process.stdout.write(`| endpoint (${DEVELOPERS.toLocaleString('en')} developers, ${backend}) | median | slowest | target |\n|---|---|---|---|\n`);
    for (const url of ENDPOINTS) {
      const times: number[] = [];
      let status = 0;
      for (let i = 0; i < 5; i++) {
        const begin = performance.now();
        const response = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${KEY}` } });
        times.push(performance.now() - begin);
        status = response.statusCode;
        if (status === 404) break;
        if (status !== 200) throw new Error(`${url}: ${status} ${response.body.slice(0, 300)}`);
      }
      if (status === 404) continue; // not built yet
      times.sort((a, b) => a - b);
      const ms = (t: number) => `${Math.round(t)} ms`;
      process.stdout.write(`| \`GET ${url}\` | ${ms(times[2]!)} | ${ms(times.at(-1)!)} | < 1 s ${times[2]! < 1000 ? 'met' : 'NOT met'} |\n`);
    }
    await riskCrossingsCost(db.pool);
  } finally {
    await app.close();
    await db.close();
    await database.drop();
  }
}

/**
 * What the worker spends, once an hour per rules version, on the crossings of risk criteria: the
 * curves (the stage rows read whole) and the hourly scan per criterion and segment, timed apart.
 */
async function riskCrossingsCost(pool: pg.Pool) {
  const funnel = await shippedFunnelInForce();
  const stages = ['credential_provisioned', 'first_api_call', 'active_integration'];
  const rules = rulesDocument.parse({
    rules: stages.map((stage) => ({ id: `risk-${stage.replaceAll('_', '-')}`, when: { stage, risk: { above: 0.8 } }, action: { send: 'first-call-help' } })),
  });
  const policy = escalationPolicyDocument.parse({});
  const stalls = policy.criteria.stalls.map((s) => ({ ...s, risk: { above: 0.9 } }));
  const documents = { rules, policy: { ...policy, criteria: { ...policy.criteria, stalls } } };
  const models = new RiskModels(pool);
  const hour = hourOf(Date.now());
  const curves = performance.now();
  await models.asOf(hour, funnel, stalls);
  const built = performance.now();
  await crossingsOnHistory(models, funnel, documents, hour);
  const scanned = performance.now();
  process.stdout.write(
    `\nrisk crossings (${stages.length + stalls.length} criteria × 21 segments): curves ${Math.round(built - curves)} ms, then the scan ${Math.round(scanned - built)} ms (once an hour per rules version, in the worker)\n`,
  );
}

runMain(main);
