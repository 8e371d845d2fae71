import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocate, adaptiveExperiments, withExperimentAllocations } from '../../src/metrics/experiment-allocations.ts';
import { rulesInForceCache } from '../../src/rules/rules-in-force.ts';
import { RuleStore } from '../../src/rules/rule-store.ts';
import { seedExperimentArms } from '../support/experiment-history.ts';
import { startMetricsTestApp, type MetricsTestApp } from '../support/metrics-app.ts';
import { shippedFunnelInForce } from '../support/shipped-funnel.ts';
import { databaseBackends } from '../support/test-databases.ts';

const DAY = 86_400_000;
/** Midnight UTC: the start of a 1d period. */
const PERIOD = Date.UTC(2027, 2, 15);

const rulesSource = (adaptive: string) =>
  [
    'rules:',
    '  - id: first-call-help',
    '    when: { stage: credential_provisioned, after: 24h }',
    '    action:',
    '      experiment:',
    '        id: subject-test',
    '        goal: first_api_call',
    '        window: 7d',
    '        variants: [{ id: a, send: first-call-help }, { id: b, send: first-call-guided }]',
    `        adaptive: ${adaptive}`,
  ].join('\n');

describe.each(databaseBackends())('adaptive allocations: recorded and reported (%s)', (backend) => {
  let api: MetricsTestApp;
  let rules: RuleStore;

  beforeAll(async () => {
    api = await startMetricsTestApp(backend);
    rules = new RuleStore(api.db.pool);
    const applied = await rules.apply({ source: rulesSource('{ floor: 0.1, every: 1d, minPerVariant: 100 }'), author: 'test', reason: 'adaptive' });
    expect(applied.ok, JSON.stringify(applied)).toBe(true);
    // 20 days before the period: every window (7 d) has closed. a converts 15 %, b 30 %; c's 60 never count (no such variant).
    const seed = { experimentId: 'subject-test', ruleId: 'first-call-help', ruleVersion: 1, goal: 'first_api_call', assignedAt: PERIOD - 20 * DAY };
    await seedExperimentArms(api.db.pool, {
      ...seed,
      prefix: 'old',
      arms: [
        { variant: 'a', n: 100, converted: 15 },
        { variant: 'b', n: 100, converted: 30 },
      ],
    });
    // Assigned 3 days before the period: their windows are still open, so they are not measured yet.
    await seedExperimentArms(api.db.pool, { ...seed, prefix: 'recent', assignedAt: PERIOD - 3 * DAY, arms: [{ variant: 'a', n: 40, converted: 40 }] });
  });
  afterAll(async () => {
    await api?.close();
  });

  const rowsOf = async () =>
    (
      await api.db.pool.query<{ as_of: Date; rules_version: number; weights: Record<string, number>; reason: string }>(
        'SELECT as_of, rules_version, weights, reason FROM experiment_allocations ORDER BY id',
      )
    ).rows;

  it('hands journeys the weights the data supports with the rules, recorded once with their reason, the floor kept', async () => {
    let now = PERIOD + 5 * 3_600_000;
    const read = withExperimentAllocations(rulesInForceCache(api.db.pool, 0), api.db.pool, shippedFunnelInForce, () => now);
    const inForce = await read();
    expect(inForce.rules?.version).toBe(1);
    const weights = inForce.allocations?.['subject-test'];
    expect(weights).toEqual({ a: 0.1, b: 0.9 }); // P(b best) ≈ 0.995: a keeps its floor
    const [row, ...more] = await rowsOf();
    expect(more).toEqual([]);
    expect(row).toMatchObject({ as_of: new Date(PERIOD), rules_version: 1, weights });
    expect(row!.reason).toMatch(/^variant b converts 30% of 100 vs a 15% of 100; P\(best\) (0\.99|1\.00)$/);
    // Later the same period, and the next period with the same data: the weights stand, no new row.
    now += 3_600_000;
    expect((await read()).allocations).toEqual(inForce.allocations);
    now += DAY;
    expect((await read()).allocations).toEqual(inForce.allocations);
    expect(await rowsOf()).toHaveLength(1);
  });

  it('records a change when the data moves the weights, and one row when workers compute the same period together', async () => {
    // 60 more a developers, all converted, whose windows have closed by the period after next: a now leads.
    await seedExperimentArms(api.db.pool, {
      experimentId: 'subject-test',
      ruleId: 'first-call-help',
      ruleVersion: 1,
      goal: 'first_api_call',
      assignedAt: PERIOD - 10 * DAY,
      prefix: 'more',
      arms: [{ variant: 'a', n: 60, converted: 60 }],
    });
    const inForce = (await rules.active())!;
    const [adaptive] = adaptiveExperiments(inForce);
    const next = new Date(PERIOD + 2 * DAY);
    const [one, two] = await Promise.all([allocate(api.db.pool, inForce, adaptive!, 1, next), allocate(api.db.pool, inForce, adaptive!, 1, next)]);
    expect(one).toEqual(two);
    expect(one!.a).toBeGreaterThan(0.5);
    const rows = await rowsOf();
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ as_of: next, weights: one });
    // 75 of 160 measured (the recent 40 are still in their window): 47 % against 30 %.
    expect(rows[1]!.reason).toMatch(/^variant a converts 47% of 160 vs b 30% of 100; P\(best\) (0\.99|1\.00)$/);
  });

  it('reports the adaptive settings and the allocation history, newest first, with GET /v1/metrics/experiments', async () => {
    const body = await api.ok(`/v1/metrics/experiments/subject-test?asOf=${new Date(Date.now() + DAY).toISOString()}`);
    expect(body.adaptive).toEqual({ floor: 0.1, every: '1d', minPerVariant: 100 });
    expect(body.allocations.map((a: { asOf: string }) => a.asOf)).toEqual([new Date(PERIOD + 2 * DAY).toISOString(), new Date(PERIOD).toISOString()]);
    expect(body.allocations[1]).toMatchObject({
      rulesVersion: 1,
      weights: { a: 0.1, b: 0.9 },
      arms: [
        { variant: 'a', measured: 100, converted: 15 },
        { variant: 'b', measured: 100, converted: 30 },
      ],
    });
    const list = await api.ok('/v1/metrics/experiments');
    expect(list.experiments[0].allocations).toHaveLength(2);
    // Before anything was recorded, no history.
    expect((await api.ok('/v1/metrics/experiments/subject-test?asOf=2020-01-01T00:00:00Z')).allocations).toEqual([]);
  });

  it("records a rules version's own allocation in the same period, and the return to the document's weights when a version asks for more data", async () => {
    const now = PERIOD + 2 * DAY + 3_600_000;
    const read = withExperimentAllocations(rulesInForceCache(api.db.pool, 0), api.db.pool, shippedFunnelInForce, () => now);
    // Version 2 raises the floor: the same period's data, other weights, its own row.
    expect((await rules.apply({ source: rulesSource('{ floor: 0.3, minPerVariant: 100 }'), author: 'test', reason: 'a higher floor' })).ok).toBe(true);
    const floored = await read();
    expect(floored.rules?.version).toBe(2);
    expect(floored.allocations?.['subject-test']?.b).toBeCloseTo(0.3, 12);
    // Version 3 asks for 101 measured per variant: b has 100, so the document's (even) weights are back.
    expect((await rules.apply({ source: rulesSource('{ floor: 0.3, minPerVariant: 101 }'), author: 'test', reason: 'more data first' })).ok).toBe(true);
    const thin = await read();
    expect(thin.rules?.version).toBe(3);
    expect(thin).not.toHaveProperty('allocations');
    const rows = await rowsOf();
    expect(rows.slice(2)).toEqual([
      {
        as_of: new Date(PERIOD + 2 * DAY),
        rules_version: 2,
        weights: { a: expect.closeTo(0.7, 12), b: expect.closeTo(0.3, 12) },
        reason: expect.stringMatching(/^variant a converts 47%/),
      },
      { as_of: new Date(PERIOD + 2 * DAY), rules_version: 3, weights: { a: 0.5, b: 0.5 }, reason: "the document's weights: variant b has 100 measured, fewer than 101" },
    ]);
    // Read again: nothing more to record.
    expect(await read()).not.toHaveProperty('allocations');
    expect(await rowsOf()).toHaveLength(4);
  });
});
