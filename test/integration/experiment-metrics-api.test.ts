import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuleStore } from '../../src/rules/rule-store.ts';
import { startMetricsTestApp, type FixtureDeveloper, type MetricsTestApp } from '../support/metrics-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

/** Every figure below is computed as of this instant. */
const AS_OF = '2027-03-15T00:00:00.000Z';

const shipped = readFileSync(new URL('../../config/rules.yaml', import.meta.url), 'utf8');
/** The shipped rules with first-call-help running `subject-test`, and explore-the-api running `tiny` (no holdout decisions). */
const withExperiments = shipped
  .replace(
    /action:\n\s+send: first-call-help\n\s+variants:\n(?:\s+- when: .*\n\s+send: .*\n)+/,
    `action:
      experiment:
        id: subject-test
        goal: first_api_call
        window: 7d
        variants:
          - { id: a, send: first-call-help, weight: 50 }
          - { id: b, send: first-call-guided, after: 48h, weight: 50 }
`,
  )
  .replace(
    'action: { send: explore-the-api }',
    'action: { experiment: { id: tiny, goal: first_integration_milestone, window: 3d, send: explore-the-api, variants: [{ id: x }, { id: y, after: 5d }] } }',
  );

/*
 * subject-test, window 7 days, as of 2027-03-15:
 *   a: 40 assigned on 03-01 and sent; 20 reached first_api_call on 03-03 (converted), 1 on 03-12
 *      (after its window closed on 03-08: not converted); 1 more assigned on 03-13: pending.
 *   b: 40 assigned on 03-01 (scheduled, experiment_delay), 35 of them sent on 03-03; 10 converted.
 *   holdout: 40 skipped (holdout) on 03-01; 8 converted. The baseline: it has measured developers.
 * tiny, window 3 days: x 3 assigned on 03-01 (1 converted), y 3 (0 converted); no holdout: x is the baseline.
 */
interface Arm {
  experiment: string;
  rule: string;
  variant: string | null;
  n: number;
  converted: number;
  sent: number;
  goal: string;
  at?: string;
}
const arms: Arm[] = [
  { experiment: 'subject-test', rule: 'first-call-help', variant: 'a', n: 40, converted: 20, sent: 40, goal: 'first_api_call' },
  { experiment: 'subject-test', rule: 'first-call-help', variant: 'b', n: 40, converted: 10, sent: 35, goal: 'first_api_call' },
  { experiment: 'subject-test', rule: 'first-call-help', variant: null, n: 40, converted: 8, sent: 0, goal: 'first_api_call' },
  { experiment: 'tiny', rule: 'explore-the-api', variant: 'x', n: 3, converted: 1, sent: 3, goal: 'first_integration_milestone' },
  { experiment: 'tiny', rule: 'explore-the-api', variant: 'y', n: 3, converted: 0, sent: 3, goal: 'first_integration_milestone' },
];

describe.each(databaseBackends())('GET /v1/metrics/experiments (%s)', (backend) => {
  let api: MetricsTestApp;

  beforeAll(async () => {
    api = await startMetricsTestApp(backend);
    const rules = new RuleStore(api.db.pool);
    await rules.apply({ source: shipped, author: 'test', reason: 'shipped' });
    const applied = await rules.apply({ source: withExperiments, author: 'test', reason: 'experiments' });
    expect(applied.ok, JSON.stringify(applied)).toBe(true);
    const developers: FixtureDeveloper[] = [];
    const decisions: unknown[][] = [];
    const decide = (developer: string, arm: Arm, outcome: string, reason: string | null, at: string) =>
      decisions.push([developer, `${developer}/${decisions.length}`, `${arm.rule}#1`, arm.rule, 2, outcome, reason, at, arm.experiment, arm.variant]);
    for (const arm of arms) {
      for (let i = 0; i < arm.n; i++) {
        const id = `${arm.experiment}-${arm.variant ?? 'holdout'}-${i}`;
        developers.push({
          id,
          channel: 'organic_search',
          accountType: 'individual',
          signup: '2027-02-20T00:00:00Z',
          stages: i < arm.converted ? { [arm.goal]: '2027-03-03T00:00:00Z' } : {},
        });
        if (arm.variant === null) decide(id, arm, 'skipped', 'holdout', '2027-03-01T00:00:00Z');
        else if (arm.variant === 'b') decide(id, arm, 'scheduled', 'experiment_delay', '2027-03-01T00:00:00Z');
        if (i < arm.sent) decide(id, arm, 'sent', null, arm.variant === 'b' ? '2027-03-03T00:00:00Z' : '2027-03-01T00:00:00Z');
      }
    }
    const a = arms[0]!;
    developers.push({ id: 'late-converter', channel: 'paid', accountType: 'individual', signup: '2027-02-20T00:00:00Z', stages: { first_api_call: '2027-03-12T00:00:00Z' } });
    decide('late-converter', a, 'sent', null, '2027-03-01T00:00:00Z');
    developers.push({ id: 'pending', channel: 'paid', accountType: 'individual', signup: '2027-02-20T00:00:00Z', stages: { first_api_call: '2027-03-14T00:00:00Z' } });
    decide('pending', a, 'sent', null, '2027-03-13T00:00:00Z');
    await api.insertDevelopers(developers);
    for (const d of decisions) {
      await api.db.pool.query(
        `INSERT INTO nudge_decisions (developer_id, decision_key, nudge_key, rule_id, rule_version, outcome, reason, decided_at, experiment_id, variant_id, segment, inputs)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '{}', '{}')`,
        d,
      );
    }
  });
  afterAll(async () => {
    await api?.close();
  });

  it('reports each arm of subject-test: assigned, sent, measured, converted, Wilson interval, z-test against the holdout', async () => {
    const body = await api.ok(`/v1/metrics/experiments/subject-test?asOf=${AS_OF}`);
    expect(body).toMatchObject({
      asOf: AS_OF,
      id: 'subject-test',
      ruleId: 'first-call-help',
      goal: 'first_api_call',
      window: '7d',
      inForce: true,
      rulesVersion: 2,
      baseline: 'holdout',
      warning: null,
    });
    const [a, b, holdout] = body.arms;
    // a: 42 assigned (40 + the late converter + the pending one), 41 measured, 20 converted.
    expect(a).toMatchObject({
      arm: 'a',
      variant: { id: 'a', template: 'first-call-help', after: null, weight: 50 },
      assigned: 42,
      sent: 42,
      measured: 41,
      pending: 1,
      converted: 20,
    });
    expect(a.rate).toBeCloseTo(20 / 41, 10);
    // Wilson for 20/41: p = 0.487805, z²/n = 3.841459/41 = 0.093694; centre = (0.487805 + 0.046847)/1.093694 = 0.488850;
    // half = 1.959964/1.093694 · √(0.487805·0.512195/41 + 3.841459/(4·41²)) = 1.792059 · √(0.006094 + 0.000571) = 1.792059 · 0.081641 = 0.146305;
    // interval = [0.342544, 0.635155].
    expect(a.ci95.low).toBeCloseTo(0.342544, 5);
    expect(a.ci95.high).toBeCloseTo(0.635155, 5);
    // a against the holdout: pooled (20 + 8)/(41 + 40) = 0.345679; se = √(0.345679·0.654321·(1/41 + 1/40)) = 0.105695;
    // z = (0.487805 − 0.2)/0.105695 = 2.722987; p = 2·(1 − Φ(2.722987)) = 0.006469.
    expect(a.comparison).toMatchObject({ against: 'holdout', significant: true, warning: null });
    expect(a.comparison.z).toBeCloseTo(2.722987, 5);
    expect(a.comparison.pValue).toBeCloseTo(0.006469, 5);
    expect(b).toMatchObject({ arm: 'b', variant: { after: '48h', template: 'first-call-guided' }, assigned: 40, sent: 35, measured: 40, pending: 0, converted: 10, rate: 0.25 });
    // b against the holdout: pooled 18/80 = 0.225; se = √(0.225·0.775·0.05) = 0.093374; z = 0.05/0.093374 = 0.535480; p = 0.592318.
    expect(b.comparison).toMatchObject({ against: 'holdout', significant: false, warning: null });
    expect(b.comparison.pValue).toBeCloseTo(0.592318, 5);
    expect(holdout).toMatchObject({ arm: 'holdout', variant: null, assigned: 40, sent: 0, measured: 40, converted: 8, rate: 0.2, comparison: null });
  });

  it('warns while the sample is too small, and tests against the first variant without a holdout', async () => {
    const body = await api.ok(`/v1/metrics/experiments/tiny?asOf=${AS_OF}`);
    expect(body.baseline).toBe('x');
    expect(body.arms.map((a: { arm: string; measured: number; converted: number }) => [a.arm, a.measured, a.converted])).toEqual([
      ['x', 3, 1],
      ['y', 3, 0],
      ['holdout', 0, 0],
    ]);
    expect(body.arms[1].comparison).toMatchObject({ against: 'x', significant: false, warning: '3 measured in the smaller arm (fewer than 30)' });
    expect(body.arms[2]).toMatchObject({ rate: null, ci95: null, comparison: null });
    expect(body.warning).toBe('sample too small to trust the test (y: 3 measured in the smaller arm (fewer than 30))');
  });

  it('lists every experiment, computes as of asOf, and refuses what it does not know', async () => {
    const all = await api.ok(`/v1/metrics/experiments?asOf=${AS_OF}`);
    expect(all.experiments.map((e: { id: string }) => e.id)).toEqual(['subject-test', 'tiny']);
    // Before the decisions: everyone's window open, nothing measured.
    const early = await api.ok('/v1/metrics/experiments/subject-test?asOf=2027-03-02T00:00:00Z');
    expect(early.arms.map((a: { assigned: number; measured: number }) => [a.assigned, a.measured])).toEqual([
      [41, 0],
      [40, 0],
      [40, 0],
    ]);
    const missing = await api.get('/v1/metrics/experiments/nope');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ errors: [{ path: 'id', message: 'no experiment "nope" in any rules version' }] });
    await api.expectBadParameter('/v1/metrics/experiments?asOf=yesterday', 'asOf', /.+/);
    await api.expectMetricsKeysOnly(['/v1/metrics/experiments', '/v1/metrics/experiments/tiny']);
  });
});
