import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunnelVersion } from '../../src/funnel/funnel-in-force.ts';
import { CUSTOM_AS_OF as AS_OF, CUSTOM_FUNNEL_DEVELOPERS, customFunnel } from '../support/custom-funnel.ts';
import { startMetricsTestApp, type MetricsTestApp, RECOUNT_ENDPOINT_TOTALS } from '../support/metrics-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

/** The metrics follow the funnel in force: its stage ids, order, labels and roles (fixtures: test/support/custom-funnel.ts). */
describe.each(databaseBackends())('the metrics in a custom funnel (%s)', (backend) => {
  let api: MetricsTestApp;
  const withRoles = customFunnel({ withRoles: true });
  const withoutRoles = customFunnel({ withRoles: false });
  // Read per request, as the funnel in force is: a test may change it.
  let inForce = withRoles;
  const useFunnel = async (funnel: () => Promise<FunnelVersion>, body: () => Promise<void>) => {
    inForce = funnel;
    try {
      await body();
    } finally {
      inForce = withRoles;
    }
  };

  beforeAll(async () => {
    api = await startMetricsTestApp(backend, { funnel: () => inForce() });
    await api.insertDevelopers(CUSTOM_FUNNEL_DEVELOPERS);
    // Successful first-session requests: p1 to 2 endpoints, p2 and q1 to 1, p3 to 3 (all within 24 h of hello_world).
    const calls: [developer: string, at: string, endpoints: string[]][] = [
      ['p1', '2027-01-04T02:00:00Z', ['/v1/a', '/v1/b']],
      ['p2', '2027-01-05T04:00:00Z', ['/v1/a']],
      ['p3', '2027-01-07T00:00:00Z', ['/v1/a', '/v1/b', '/v1/c']],
      ['q1', '2027-03-08T08:00:00Z', ['/v1/a']],
    ];
    for (const [developer, at, endpoints] of calls) {
      for (const [i, endpoint] of endpoints.entries()) {
        await api.db.pool.query(
          `INSERT INTO events (id, type, developer_id, occurred_at, endpoint, status, mode, sdk) VALUES ($1, 'api.request', $2, $3, $4, 200, 'test', false)`,
          [`${developer}-call-${i}`, developer, new Date(Date.parse(at) + i * 60_000).toISOString(), endpoint],
        );
      }
    }
    await api.db.pool.query(RECOUNT_ENDPOINT_TOTALS);
    // Nudge decisions, by the stage they acted in: p1 and p3 nudged at hello_world, p4 held out at
    // signed_up, p2 nudged at account_created (a stage this funnel does not hold).
    const decisions: [developer: string, stage: string, kind: 'sent' | 'holdout', at: string][] = [
      ['p1', 'hello_world', 'sent', '2027-01-04T03:00:00Z'],
      ['p3', 'hello_world', 'sent', '2027-01-07T01:00:00Z'],
      ['p4', 'signed_up', 'holdout', '2027-01-07T01:00:00Z'],
      ['p2', 'account_created', 'sent', '2027-01-05T01:00:00Z'],
    ];
    for (const [developer, stage, kind, at] of decisions) {
      await api.db.pool.query(
        `INSERT INTO nudge_decisions (developer_id, decision_key, nudge_key, rule_id, rule_version, outcome, reason, segment, inputs, decided_at)
         VALUES ($1, $2, 'stall#1', 'stall', 1, $3, $4, '{}', $5, $6)`,
        [developer, `${developer}/1`, kind === 'sent' ? 'sent' : 'skipped', kind === 'sent' ? null : 'holdout', JSON.stringify({ stage, holdout: kind === 'holdout' }), at],
      );
    }
    await api.db.pool.query(
      `INSERT INTO journey_transitions (developer_id, from_stage, to_stage, occurred_at, cause_event_id, machine_version) VALUES ('p1', 'signed_up', 'hello_world', '2027-01-04T02:00:00Z', 'p1-call-0', 1)`,
    );
  });
  afterAll(async () => {
    await api?.close();
  });

  const figures = (t: object, eligible: number, converted: number, excluded: number) => ({
    ...t,
    eligible,
    converted,
    excluded,
    rate: eligible === 0 ? null : converted / eligible,
    band: null, // no benchmark names these stages
    bandStatus: 'no_benchmark',
    weakest: false,
  });

  it('conversion: by default each pair of consecutive stages within 30 days, with the funnel and its labels; rows of other stages ignored', async () => {
    const body = await api.ok(`/v1/metrics/conversion?asOf=${AS_OF}`);
    expect(body.funnel).toEqual({
      version: 1,
      stages: [
        { id: 'signed_up', label: 'Signed up', role: null },
        { id: 'hello_world', label: 'Hello world', role: 'first_call' },
        { id: 'team_invited', label: 'Team invited', role: null },
        { id: 'paying', label: 'Paying customer', role: 'production' },
      ],
    });
    // signed_up → hello_world: all five signed up, p4 never called (window elapsed) → 4/5.
    // hello_world → team_invited: p1, q1; p2 converts through paying (skipping team_invited, 15 d); p3 not → 3/4.
    // team_invited → paying: p1 in 5 d; q1's window is open at AS_OF → excluded; p2 skipped team_invited: not counted.
    expect(body.overall).toEqual([
      figures({ from: 'signed_up', to: 'hello_world', windowDays: 30 }, 5, 4, 0),
      figures({ from: 'hello_world', to: 'team_invited', windowDays: 30 }, 4, 3, 0),
      figures({ from: 'team_invited', to: 'paying', windowDays: 30 }, 1, 1, 1),
    ]);
    // The funnel as a whole, in this funnel's stages: p2 skipped team_invited and still counts there (it went further).
    expect(body.reach.map((r: { stage: string; label: string }) => [r.stage, r.label])).toEqual(body.funnel.stages.map((s: { id: string; label: string }) => [s.id, s.label]));
    expect(body.reach.slice(0, 3).map((r: { reached: number }) => r.reached)).toEqual([5, 4, 3]);
    expect(body.cohorts.map((c: { cohort: string; developers: number }) => [c.cohort, c.developers])).toEqual([
      ['2027-W01', 4],
      ['2027-W10', 1],
    ]);
  });

  it('conversion between any pair of the funnel in order', async () => {
    const body = await api.ok(`/v1/metrics/conversion?asOf=${AS_OF}&transitions=signed_up:paying:10d,hello_world:paying:30d`);
    // signed_up → paying 10 d: p1 (6 d); p2 (15 d), p3, p4 not, windows elapsed; q1's window (to 03-18) open → excluded.
    // hello_world → paying 30 d: p1, p2 (14.8 d); p3 not; q1's window open → excluded.
    expect(body.overall).toEqual([figures({ from: 'signed_up', to: 'paying', windowDays: 10 }, 4, 1, 1), figures({ from: 'hello_world', to: 'paying', windowDays: 30 }, 3, 2, 1)]);
  });

  it('answers 400 naming the parameter for a stage the funnel does not hold, or a pair out of its order', async () => {
    await api.expectBadParameter(
      `/v1/metrics/conversion?transitions=account_created:first_api_call:7d`,
      'transitions',
      /^transition 1 \("account_created:first_api_call:7d"\): unknown stage "account_created" \(one of signed_up, hello_world, team_invited, paying\)$/,
    );
    await api.expectBadParameter(
      `/v1/metrics/conversion?transitions=signed_up:paying:7d,paying:hello_world:7d`,
      'transitions',
      /^transition 2 .*"hello_world" must come after "paying"/,
    );
    await api.expectBadParameter(`/v1/metrics/conversion?transitions=team_invited:team_invited:7d`, 'transitions', /must come after/);
    await api.expectBadParameter(`/v1/developers?stage=first_api_call`, 'stage', /unknown stage "first_api_call" \(one of signed_up, hello_world/);
  });

  it('time to first call measures to the first_call stage, production to the production stage, depth to both', async () => {
    const ttfac = await api.ok(`/v1/metrics/ttfac?asOf=${AS_OF}`);
    expect(ttfac.stage).toEqual({ id: 'hello_world', label: 'Hello world' });
    expect(ttfac.warnings).toEqual([]);
    // W01: 7200, 14400, 86400 (p4 never); positions p·2. Overall: 7200, 14400, 28800, 86400; positions p·3.
    expect(ttfac.cohorts).toEqual([
      { cohort: '2027-W01', developers: 4, reached: 3, percentiles: { p25: 10800, p50: 14400, p75: 50400, p90: 72000 }, risingTail: false },
      { cohort: '2027-W10', developers: 1, reached: 1, percentiles: { p25: 28800, p50: 28800, p75: 28800, p90: 28800 }, risingTail: false },
    ]);
    expect(ttfac.overall).toEqual({ developers: 5, reached: 4, percentiles: { p25: 12600, p50: 21600, p75: 43200, p90: 69120 } });

    const production = await api.ok(`/v1/metrics/production?asOf=${AS_OF}`);
    expect(production.stage).toEqual({ id: 'paying', label: 'Paying customer' });
    expect(production.warnings).toEqual([]);
    // W01: p1 paying at 6 d, p2 at 15 d; last signup 01-07 + 90 d is after AS_OF.
    expect(production.cohorts).toEqual([
      { cohort: '2027-W01', developers: 4, d30: { reached: 2, rate: 0.5 }, d60: { reached: 2, rate: 0.5 }, d90: null },
      { cohort: '2027-W10', developers: 1, d30: null, d60: null, d90: null },
    ]);

    const depth = await api.ok(`/v1/metrics/depth?asOf=${AS_OF}`);
    expect(depth.warnings).toEqual([]);
    expect(depth.overall).toEqual({
      developers: 4,
      excluded: 0,
      buckets: [
        { bucket: '1', developers: 2, production: { reached: 1, rate: 0.5 } }, // p2 (paying), q1
        { bucket: '2', developers: 1, production: { reached: 1, rate: 1 } }, // p1 (paying)
        { bucket: '3+', developers: 1, production: { reached: 0, rate: 0 } }, // p3
      ],
      distribution: [
        { endpoints: 1, developers: 2 },
        { endpoints: 2, developers: 1 },
        { endpoints: 3, developers: 1 },
      ],
    });
  });

  it('without first_call and production roles: 200, the figures empty, and warnings saying why', async () => {
    await useFunnel(withoutRoles, async () => {
      const ttfac = await api.ok(`/v1/metrics/ttfac?asOf=${AS_OF}`);
      expect(ttfac.stage).toBeNull();
      expect(ttfac.warnings).toEqual([expect.stringMatching(/names no first_call stage/)]);
      expect(ttfac.overall).toEqual({ developers: 5, reached: 0, percentiles: null });
      expect(ttfac.cohorts.map((c: { reached: number; percentiles: unknown }) => [c.reached, c.percentiles])).toEqual([
        [0, null],
        [0, null],
      ]);

      const production = await api.ok(`/v1/metrics/production?asOf=${AS_OF}`);
      expect(production.stage).toBeNull();
      expect(production.warnings).toEqual([expect.stringMatching(/names no production stage/)]);
      expect(production.cohorts).toEqual([
        { cohort: '2027-W01', developers: 4, d30: null, d60: null, d90: null },
        { cohort: '2027-W10', developers: 1, d30: null, d60: null, d90: null },
      ]);

      const depth = await api.ok(`/v1/metrics/depth?asOf=${AS_OF}`);
      expect(depth.warnings).toEqual([expect.stringMatching(/names no first_call stage/), expect.stringMatching(/names no production stage/)]);
      expect(depth.overall).toMatchObject({ developers: 0, excluded: 0, distribution: [] });

      // Conversion needs no role.
      expect((await api.ok(`/v1/metrics/conversion?asOf=${AS_OF}`)).funnel.version).toBe(1);
    });
  });

  it('the nudge effect and automation: "a later stage" is later in the funnel, stages by their labels', async () => {
    const engagement = await api.ok(`/v1/metrics/engagement?asOf=${AS_OF}`);
    const group = (eligible: number, converted: number) => ({ eligible, converted, rate: eligible === 0 ? null : converted / eligible, excluded: 0 });
    // In funnel order; p2's decision at account_created is left out. p1 reached team_invited a day after its nudge; p3 nothing; p4 nothing.
    expect(engagement.nudgeEffect.stages).toEqual([
      { stage: 'signed_up', label: 'Signed up', nudged: group(0, 0), holdout: group(1, 0), difference: null, ci95: null },
      { stage: 'hello_world', label: 'Hello world', nudged: group(2, 1), holdout: group(0, 0), difference: null, ci95: null },
    ]);
    // Sent nudges: p1 (moved on to team_invited after it), p3 (did not), p2 (its stage is not the funnel's: no later stage).
    const automation = await api.ok(`/v1/metrics/automation?asOf=${AS_OF}`);
    expect(automation.overall).toEqual({ developers: 3, automationResolved: 1, humanEscalated: 0, unresolved: 2, automationShare: 1 / 3, humanShare: 0 });
  });

  it('the developers list: the current stage by the funnel order, with its label, and the stage filter', async () => {
    const all = await api.ok(`/v1/developers?asOf=${AS_OF}`);
    expect(all.items.map((i: { id: string; stage: string; stageLabel: string }) => [i.id, i.stage, i.stageLabel])).toEqual([
      ['p1', 'paying', 'Paying customer'],
      ['p2', 'paying', 'Paying customer'],
      ['p3', 'hello_world', 'Hello world'],
      ['p4', 'signed_up', 'Signed up'], // not account_created: the funnel does not hold it
      ['q1', 'team_invited', 'Team invited'],
    ]);
    const invited = await api.ok(`/v1/developers?asOf=${AS_OF}&stage=team_invited`);
    expect(invited.items.map((i: { id: string }) => i.id)).toEqual(['q1']);
  });

  it('Prometheus labels transitions by the funnel stage ids, every stage of it with a series', async () => {
    const response = await api.get('/metrics');
    expect(response.statusCode).toBe(200);
    const series = response.body.split('\n').filter((line) => line.startsWith('onramp_journey_transitions_total{'));
    expect(series.sort()).toEqual(
      [
        'onramp_journey_transitions_total{to_stage="hello_world"} 1',
        'onramp_journey_transitions_total{to_stage="paying"} 0',
        'onramp_journey_transitions_total{to_stage="signed_up"} 0',
        'onramp_journey_transitions_total{to_stage="team_invited"} 0',
      ].sort(),
    );
  });
});
