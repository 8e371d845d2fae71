import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimulation, type SimulationResult } from '../../src/cli/commands/simulate.ts';
import { DEFAULT_ERROR_RATES } from '../../src/simulator/personas.ts';
import { runOnramp } from '../support/onramp-cli.ts';
import { eventually } from '../support/eventually.ts';
import { ADMIN_KEY, INGEST_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { databaseBackends } from '../support/test-databases.ts';
import { truthConversion, truthDepth, truthErrors, truthProduction, truthSdk, truthTtfac } from '../support/truth-metrics.ts';

/*
 * A synthetic cohort fed through the real system over HTTP (late lines, duplicates, requests
 * attributed by API key), then every funnel metric Onramp answers is checked against the ground
 * truth the simulator wrote as it generated the cohort.
 */
describe.each(databaseBackends())('a simulated cohort through the real system (%s)', (backend) => {
  const h = new OnrampHarness(backend);
  const dir = mkdtempSync(join(tmpdir(), 'onramp-sim-'));
  const until = new Date(Math.floor(Date.now() / 1000) * 1000);
  const asOf = until.toISOString();
  let result: SimulationResult;
  let url: string;
  const get = async (path: string) => {
    const response = await h.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  };

  beforeAll(async () => {
    await h.start();
    url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    result = await runSimulation({
      url,
      ingestKey: INGEST_KEY,
      adminKey: ADMIN_KEY,
      developers: 120,
      days: 100,
      seed: 42,
      until,
      errorRates: DEFAULT_ERROR_RATES,
      lateShare: 0.1,
      duplicateShare: 0.05,
      followEmails: 45, // stops once emails have come and 20 s passed without a new one
      truthFile: join(dir, 'truth.json'),
      quiet: true,
    });
    // Settled: every stage the truth has is a journey_stages row (late ones included).
    const expected = result.developers.reduce((n, d) => n + Object.keys(d.truth.stages).length, 0);
    await eventually(() => h.count('journey_stages'), { until: (n) => n >= expected, timeout: 120_000, interval: 250, describe: `${expected} journey_stages rows` });
  }, 240_000);
  afterAll(async () => {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores every event once: duplicates and late lines change nothing', async () => {
    const reactions = result.feed.opened + result.feed.clicked;
    expect(result.feed.accepted).toBe(result.events + reactions);
    expect(result.feed.duplicates).toBe(result.duplicates);
    expect(result.late).toBeGreaterThan(0);
    expect(await h.count('events')).toBe(result.events + reactions);
    // Every request was attributed through its key by the end.
    const { rows } = await h.db.pool.query(`SELECT count(*)::int AS n FROM events WHERE type = 'api.request' AND developer_id IS NULL`);
    expect(rows[0].n).toBe(0);
  });

  it('derives exactly the stages the simulator generated', async () => {
    const { rows } = await h.db.pool.query<{ developer_id: string; stage: string; reached_at: Date }>('SELECT developer_id, stage, reached_at FROM journey_stages');
    const derived = new Map<string, Record<string, string>>();
    for (const row of rows) derived.set(row.developer_id, { ...derived.get(row.developer_id), [row.stage]: row.reached_at.toISOString() });
    for (const d of result.developers) expect(derived.get(d.profile.id) ?? {}, d.profile.id).toEqual(d.truth.stages);
  });

  it('answers conversion, TTFAC, SDK share, depth, production and first-session errors as the ground truth says', async () => {
    const t = Date.parse(asOf);
    const { developers } = result;

    const conversion = await get(`/v1/metrics/conversion?asOf=${asOf}`);
    const pairs = [
      ['account_created', 'first_api_call', 7],
      ['first_api_call', 'active_integration', 14],
      ['active_integration', 'production_deployment', 30],
    ] as const;
    pairs.forEach(([from, to, days], i) => expect(conversion.overall[i]).toMatchObject({ from, to, windowDays: days, ...truthConversion(developers, t, from, to, days) }));

    const ttfac = await get(`/v1/metrics/ttfac?asOf=${asOf}`);
    const expectedTtfac = truthTtfac(developers, t);
    expect(ttfac.overall).toMatchObject({ developers: expectedTtfac.developers, reached: expectedTtfac.reached });
    for (const p of ['p25', 'p50', 'p75', 'p90'] as const) expect(ttfac.overall.percentiles[p]).toBeCloseTo(expectedTtfac[p]!, 3);

    const sdk = await get(`/v1/metrics/sdk?asOf=${asOf}`);
    expect(sdk.overall).toEqual(truthSdk(developers));

    const depth = await get(`/v1/metrics/depth?asOf=${asOf}`);
    expect(depth.overall).toMatchObject(truthDepth(developers, t));

    const production = await get(`/v1/metrics/production?asOf=${asOf}`);
    expect(production.cohorts).toEqual(truthProduction(developers, t));

    const errors = await get(`/v1/metrics/errors?asOf=${asOf}`);
    const expectedErrors = truthErrors(developers);
    expect(errors.overall.developers).toBe(expectedErrors.developers);
    expect(errors.overall.requests).toBe(expectedErrors.requests);
    expect(errors.overall.errors.requests).toBe(expectedErrors.errors);
    for (const status of ['401', '400', '429', '5xx'] as const) {
      expect(errors.overall.statuses.find((s: { status: string }) => s.status === status).requests, status).toBe(expectedErrors.statuses[status]);
    }
  });

  it('nudges stalled developers and posts their reactions to the emails actually sent', async () => {
    const { rows } = await h.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE type IN ('email.opened', 'email.clicked')`);
    expect(rows[0]!.n).toBe(result.feed.opened + result.feed.clicked);
    expect(result.feed.emails).toBeLessThanOrEqual(await h.count('emails'));
    expect(result.feed.emails).toBeGreaterThan(0);
  });

  it('writes the ground truth it generated', () => {
    const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8'));
    expect(truth.options).toMatchObject({ developers: 120, days: 100, seed: 42 });
    expect(truth.options.ingestKey).toBeUndefined();
    expect(truth.developers).toHaveLength(120);
    expect(truth.developers[0]).toEqual({ ...result.developers[0]!.profile, truth: result.developers[0]!.truth });
  });

  it('runs as `onramp simulate`: a summary, the truth file, the same cohort again is all duplicates; bad options exit 1', async () => {
    const args = [
      'simulate',
      '--developers',
      '12',
      '--days',
      '20',
      '--seed',
      '43',
      '--follow-emails',
      '0',
      '--url',
      url,
      '--key',
      INGEST_KEY,
      '--truth',
      join(dir, 'cli-truth.json'),
      '--until',
      asOf,
    ];
    const before = await h.count('events');
    const run = await runOnramp(args, { ONRAMP_DATA_DIR: join(dir, 'data') });
    expect(run.code, run.stderr).toBe(0);
    const accepted = Number(/accepted (\d+)/.exec(run.stdout)?.[1]);
    expect(run.stdout).toMatch(/^simulated 12 developers, \d+ events/);
    expect(await h.count('events')).toBe(before + accepted);
    expect(JSON.parse(readFileSync(join(dir, 'cli-truth.json'), 'utf8')).developers).toHaveLength(12);
    const again = await runOnramp(args, { ONRAMP_DATA_DIR: join(dir, 'data') });
    expect(again.stdout).toContain('accepted 0,');
    expect(await h.count('events')).toBe(before + accepted);

    const bad = await runOnramp(['simulate', '--error-rates', '401=2', '--url', url, '--key', INGEST_KEY]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("'401=2' is invalid");
  });
});
