import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bandOf, type Band } from '../../src/metrics/conversion-bands.ts';
import { METRICS_TEST_KEYS, startMetricsTestApp, type FixtureDeveloper, type MetricsTestApp } from '../support/metrics-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

/** Every figure below is computed as of this instant (a Monday). */
const AS_OF = '2027-03-15T00:00:00.000Z';

/*
 * Four organisations and three developers without one, as of AS_OF (ISO weeks in UTC):
 *
 * org_a  a1 signs up 2026-11-30T10:00 (W49): first call 12-04T10:00, active 12-05T10:00, production 2027-01-20T10:00
 *        a2 signs up 2026-12-01T10:00 (W49): first call 12-01T12:00 — before a1's, by event time
 * org_b  b1 signs up 2026-12-02T10:00 (W49): nothing (a docs view at 12-02T09:00)
 *        b2 signs up 2026-12-10T10:00 (W50): first call 12-12T10:00, production 12-20T10:00 (active skipped)
 * org_c  c1 signs up 2026-12-28T09:00 (W53): first call +1 h
 *        c2 signs up 2027-03-20, after AS_OF: no member yet
 * org_d  d1 signs up 2026-11-25T08:00 (W48): nothing
 *        d2 signs up 2026-12-02T08:00 (W49): first call +1 h (7 d 1 h after d1's signup)
 * i1     no organisation, signs up 2026-12-03T10:00 (W49): first call +2 h, production 12-10T12:00
 * i2     no organisation, signs up 2026-12-29T10:00 (W53): nothing
 * i3     no organisation, signs up 2027-03-12T00:00 (W10): nothing (its 7-day window still open at AS_OF)
 *
 * Per organisation: org_a reaches the first call at a2's call (26 h after its signup, a1's), org_b
 * at b2's (10 d after b1's signup: too late for the 7-day window, though b2 called within 2 days of
 * their own), org_d at d2's (7 d 1 h after d1's signup). i1, i2, i3 are accounts of their own.
 */
const org = (orgId: string) => ({ accountType: 'organization' as const, orgId });
const FIXTURES: FixtureDeveloper[] = [
  {
    id: 'a1',
    channel: 'organic_search',
    ...org('org_a'),
    signup: '2026-11-30T10:00:00Z',
    stages: { first_api_call: '2026-12-04T10:00:00Z', active_integration: '2026-12-05T10:00:00Z', production_deployment: '2027-01-20T10:00:00Z' },
  },
  { id: 'a2', channel: 'paid', ...org('org_a'), signup: '2026-12-01T10:00:00Z', stages: { first_api_call: '2026-12-01T12:00:00Z' } },
  { id: 'b1', channel: 'paid', ...org('org_b'), signup: '2026-12-02T10:00:00Z' },
  {
    id: 'b2',
    channel: 'organic_search',
    ...org('org_b'),
    signup: '2026-12-10T10:00:00Z',
    stages: { first_api_call: '2026-12-12T10:00:00Z', production_deployment: '2026-12-20T10:00:00Z' },
  },
  { id: 'c1', channel: 'direct', ...org('org_c'), signup: '2026-12-28T09:00:00Z', stages: { first_api_call: '2026-12-28T10:00:00Z' } },
  { id: 'c2', channel: 'direct', ...org('org_c'), signup: '2027-03-20T00:00:00Z', stages: { first_api_call: '2027-03-20T01:00:00Z' } },
  { id: 'd1', channel: 'organic_search', ...org('org_d'), signup: '2026-11-25T08:00:00Z' },
  { id: 'd2', channel: 'organic_search', ...org('org_d'), signup: '2026-12-02T08:00:00Z', stages: { first_api_call: '2026-12-02T09:00:00Z' } },
  {
    id: 'i1',
    channel: 'organic_search',
    accountType: 'individual',
    signup: '2026-12-03T10:00:00Z',
    stages: { first_api_call: '2026-12-03T12:00:00Z', production_deployment: '2026-12-10T12:00:00Z' },
  },
  { id: 'i2', channel: 'paid', accountType: 'individual', signup: '2026-12-29T10:00:00Z' },
  { id: 'i3', channel: 'organic_search', accountType: 'individual', signup: '2027-03-12T00:00:00Z' },
];

/** Traffic for the organisations' last activity: one request of a1's dated after AS_OF, which must not count. */
const EVENTS = [
  { id: 'e_a2_req', type: 'api.request', developer: 'a2', at: '2027-02-01T00:00:00Z', endpoint: '/v1/things' },
  { id: 'e_a2_req_old', type: 'api.request', developer: 'a2', at: '2026-12-01T12:00:00Z', endpoint: '/v1/things' },
  { id: 'e_a1_req_late', type: 'api.request', developer: 'a1', at: '2027-04-01T00:00:00Z', endpoint: '/v1/things' },
  { id: 'e_b1_docs', type: 'docs.viewed', developer: 'b1', at: '2026-12-02T09:00:00Z', endpoint: null },
];

const T1 = { from: 'account_created', to: 'first_api_call', windowDays: 7 };
const T2 = { from: 'first_api_call', to: 'active_integration', windowDays: 14 };
const T3 = { from: 'active_integration', to: 'production_deployment', windowDays: 30 };

describe.each(databaseBackends())('metrics per organisation (%s)', (backend) => {
  let api: MetricsTestApp;

  beforeAll(async () => {
    api = await startMetricsTestApp(backend);
    await api.insertDevelopers(FIXTURES);
    // The read model's current stage, as the journey's activity records it: the furthest stage row.
    await api.db.pool.query(`UPDATE developers d SET stage = l.stage, stage_at = l.reached_at
      FROM (SELECT DISTINCT ON (developer_id) developer_id, stage, reached_at FROM journey_stages
             ORDER BY developer_id, array_position(ARRAY['intent','account_created','credential_provisioned','first_api_call','first_integration_milestone','active_integration','production_deployment'], stage) DESC) l
      WHERE d.id = l.developer_id`);
    for (const e of EVENTS) {
      await api.db.pool.query(`INSERT INTO events (id, type, developer_id, occurred_at, endpoint, status) VALUES ($1, $2, $3, $4, $5, $6)`, [
        e.id,
        e.type,
        e.developer,
        e.at,
        e.endpoint,
        e.endpoint ? 200 : null,
      ]);
    }
    await api.db.pool.query(`INSERT INTO developer_endpoints (developer_id, endpoint, requests, ok_requests, first_at, last_at)
      SELECT developer_id, endpoint, count(*), count(*), min(occurred_at), max(occurred_at) FROM events WHERE endpoint IS NOT NULL GROUP BY developer_id, endpoint`);
  });
  afterAll(async () => {
    await api?.close();
  });

  /** A transition's figures: too few eligible for a band (`n_too_small`), `wouldBe` the band its rate falls in. */
  const figures = (t: { from: string; to: string; windowDays: number }, eligible: number, converted: number, excluded: number, wouldBe: Band | null) => {
    const rate = eligible === 0 ? null : converted / eligible;
    expect(bandOf(t, rate)).toBe(wouldBe);
    return { ...t, eligible, converted, excluded, rate, band: null, bandStatus: rate === null ? 'no_rate' : 'n_too_small', weakest: false };
  };

  it('conversion per organisation: an organisation reaches a stage with its first member there, from its first signup; individuals are their own accounts', async () => {
    const developers = await api.ok(`/v1/metrics/conversion?asOf=${AS_OF}`);
    const accounts = await api.ok(`/v1/metrics/conversion?asOf=${AS_OF}&unit=organization`);
    expect(developers.unit).toBe('developer');
    expect(accounts.unit).toBe('organization');

    // Per developer (c2 signed up after AS_OF: 10 developers).
    // T1: i3's window is open (excluded); converted a1 (4 d) a2 b2 c1 d2 i1, not b1 d1 i2 → 6/9.
    // T2: first call a1 a2 b2 c1 d2 i1; converted a1 (active 1 d later), b2 (production 8 d later), i1 (production 7 d later) → 3/6.
    // T3: active a1 only, production 46 d later → 0/1.
    expect(developers.overall).toEqual([figures(T1, 9, 6, 1, 'top_quartile'), figures(T2, 6, 3, 0, 'median'), figures(T3, 1, 0, 0, 'warning')]);

    // Per organisation: org_a org_b org_c org_d i1 i2 i3 (7 accounts).
    // T1: i3 excluded; converted org_a (a2's call, 26 h after a1's signup), org_c, i1; not org_b (b2's call 10 d after
    //   b1's signup), org_d (d2's call 7 d 1 h after d1's signup), i2 → 3/6: b2 and d2 converted as developers, their organisations did not.
    // T2: first call org_a (12-01T12:00) org_b org_c org_d i1; converted org_a (a1 active 12-05), org_b, i1 → 3/5.
    // T3: org_a active 12-05, production 01-20 (46 d) → 0/1.
    expect(accounts.overall).toEqual([figures(T1, 6, 3, 1, 'top_quartile'), figures(T2, 5, 3, 0, 'median'), figures(T3, 1, 0, 0, 'warning')]);
    // The funnel counts accounts too: 7 signed up, 5 of them (org_a org_b org_c org_d i1) with a first call.
    expect(accounts.counted).toBe(7);
    expect(accounts.reach.find((r: { stage: string }) => r.stage === 'first_api_call')).toMatchObject({ reached: 5, fromTop: 5 / 7 });

    // Cohorts are the accounts' first signups: b2 (W50) is org_b's (W49), d2 (W49) org_d's (W48).
    expect(developers.cohorts.map((c: any) => [c.cohort, c.developers, c.accounts])).toEqual([
      ['2026-W48', 1, undefined],
      ['2026-W49', 5, undefined],
      ['2026-W50', 1, undefined],
      ['2026-W53', 2, undefined],
      ['2027-W10', 1, undefined],
    ]);
    expect(accounts.cohorts.map((c: any) => [c.cohort, c.accounts, c.developers])).toEqual([
      ['2026-W48', 1, undefined],
      ['2026-W49', 3, undefined],
      ['2026-W53', 2, undefined],
      ['2027-W10', 1, undefined],
    ]);
    // W49: org_a converted, org_b not, i1 converted.
    expect(accounts.cohorts[1].transitions[0]).toEqual(figures(T1, 3, 2, 0, 'top_quartile'));
  });

  it("time to first call per organisation: from its first signup to its members' earliest first call", async () => {
    const body = await api.ok(`/v1/metrics/ttfac?asOf=${AS_OF}&unit=organization`);
    expect(body.unit).toBe('organization');
    // org_a 93600 (a2's call: a1's own, 4 d after, would give 345600), org_b 864000, org_c 3600, org_d 608400, i1 7200.
    // Sorted 3600, 7200, 93600, 608400, 864000: positions 1, 2, 3, 3.6 → p90 = 608400 + 0.6 · 255600 = 761760.
    expect(body.overall).toEqual({ accounts: 7, reached: 5, percentiles: { p25: 7200, p50: 93600, p75: 608400, p90: 761760 } });
    // W49: org_a, org_b, i1 → 7200, 93600, 864000.
    expect(body.cohorts[1]).toEqual({
      cohort: '2026-W49',
      accounts: 3,
      reached: 3,
      percentiles: { p25: 50400, p50: 93600, p75: 478800, p90: 709920 },
      risingTail: false,
    });
    const developers = await api.ok(`/v1/metrics/ttfac?asOf=${AS_OF}`);
    expect(developers.overall).toMatchObject({ developers: 10, reached: 6 });
    expect(developers.overall.accounts).toBeUndefined();
  });

  it("production per organisation: its members' earliest production, within 30/60/90 days of its first signup", async () => {
    const body = await api.ok(`/v1/metrics/production?asOf=${AS_OF}&unit=organization`);
    expect(body.unit).toBe('organization');
    expect(body.cohorts).toEqual([
      // org_d: nobody in production; 11-25 + 90 d ≤ AS_OF.
      { cohort: '2026-W48', accounts: 1, d30: { reached: 0, rate: 0 }, d60: { reached: 0, rate: 0 }, d90: { reached: 0, rate: 0 } },
      // org_a (a1's production 51 d after its signup), org_b (b2's, 18 d after b1's signup), i1 (7 d); last signup 12-03.
      { cohort: '2026-W49', accounts: 3, d30: { reached: 2, rate: 2 / 3 }, d60: { reached: 3, rate: 1 }, d90: { reached: 3, rate: 1 } },
      // org_c, i2: last signup 12-29 + 90 d is after AS_OF.
      { cohort: '2026-W53', accounts: 2, d30: { reached: 0, rate: 0 }, d60: { reached: 0, rate: 0 }, d90: null },
      { cohort: '2027-W10', accounts: 1, d30: null, d60: null, d90: null },
    ]);
    // Per developer, W49 is a1 a2 b1 d2 i1: i1 at 7 d, a1 at 51 d; b2 is in W50.
    const developers = await api.ok(`/v1/metrics/production?asOf=${AS_OF}`);
    expect(developers.cohorts[1]).toEqual({ cohort: '2026-W49', developers: 5, d30: { reached: 1, rate: 0.2 }, d60: { reached: 2, rate: 0.4 }, d90: { reached: 2, rate: 0.4 } });
  });

  it("a signup window bounds the organisation's first signup, and asOf its members and stages", async () => {
    // W49's signups: per developer a1 a2 b1 d2 i1; per organisation org_a, org_b (with b2, who signed up later) and i1 —
    // not org_d, whose first signup (d1) is in W48.
    const window = await api.ok(`/v1/metrics/conversion?asOf=${AS_OF}&unit=organization&from=2026-11-30&to=2026-12-06`);
    expect(window.cohorts.map((c: any) => [c.cohort, c.accounts])).toEqual([['2026-W49', 3]]);
    expect(window.overall[0]).toEqual(figures(T1, 3, 2, 0, 'top_quartile'));
    const windowTtfac = await api.ok(`/v1/metrics/ttfac?asOf=${AS_OF}&unit=organization&from=2026-11-30&to=2026-12-06`);
    expect(windowTtfac.overall).toMatchObject({ accounts: 3, reached: 3, percentiles: { p50: 93600 } });

    // As of 12-05: members a1 a2 b1 d1 d2 i1. org_a converted (a2's call), org_b's window is open (b1 alone, to 12-09) → excluded,
    // org_d's window closed at 12-02T08:00 an hour before d2's call, i1 converted.
    const early = await api.ok('/v1/metrics/conversion?asOf=2026-12-05T00:00:00Z&unit=organization');
    // (No one's later windows have elapsed: with enough accounts T1 would be the only banded transition, so the weakest.)
    expect(early.overall[0]).toEqual(figures(T1, 3, 2, 1, 'top_quartile'));
    const earlyProduction = await api.ok('/v1/metrics/production?asOf=2026-12-05T00:00:00Z&unit=organization');
    expect(earlyProduction.cohorts.map((c: any) => [c.cohort, c.accounts])).toEqual([
      ['2026-W48', 1],
      ['2026-W49', 3],
    ]);

    // Rows dated after AS_OF change nothing: a second call for org_b, a new member of org_d, a new account.
    const urls = ['conversion', 'ttfac', 'production'].map((m) => `/v1/metrics/${m}?asOf=${AS_OF}&unit=organization`);
    const before = await Promise.all(urls.map((url) => api.ok(url)));
    await api.expectUnchangedBy(urls, before, {
      insert: [
        `INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id) VALUES ('b1', 'first_api_call', '2027-04-01T00:00:00Z', 'b1-late-call')`,
        `INSERT INTO developers (id, account_type, org_id, acquisition_channel, signed_up_at) VALUES ('d3', 'organization', 'org_d', 'paid', '2027-04-02T00:00:00Z')`,
        `INSERT INTO developers (id, account_type, acquisition_channel, signed_up_at) VALUES ('i4', 'individual', 'paid', '2027-04-02T00:00:00Z')`,
      ],
      remove: [`DELETE FROM journey_stages WHERE cause_event_id = 'b1-late-call'`, `DELETE FROM developers WHERE id IN ('d3', 'i4')`],
    });
  });

  it('answers 400 naming unit: an unknown unit anywhere, organization where a metric counts developers only', async () => {
    for (const metric of ['conversion', 'ttfac', 'production']) {
      await api.expectBadParameter(`/v1/metrics/${metric}?unit=team`, 'unit', /developer.*organization/);
      await api.expectBadParameter(`/v1/metrics/${metric}?unit=`, 'unit', /developer.*organization/);
    }
    for (const path of ['/v1/metrics/sdk', '/v1/metrics/depth', '/v1/metrics/errors', '/v1/metrics/engagement', '/v1/metrics/automation', '/v1/developers']) {
      await api.expectBadParameter(`${path}?unit=organization`, 'unit', /counts developers only/);
      await api.ok(`${path}?unit=developer&asOf=${AS_OF}`);
    }
  });

  it('lists the organisations with their members, furthest stage, first signup and last activity, as of asOf', async () => {
    const body = await api.ok(`/v1/organizations?asOf=${AS_OF}`);
    expect(body).toEqual({
      asOf: AS_OF,
      items: [
        {
          account: 'org:org_a',
          orgId: 'org_a',
          developerId: null,
          members: 2,
          stage: 'production_deployment',
          stageLabel: 'Production deployment',
          stageAt: '2027-01-20T10:00:00.000Z',
          cohort: '2026-W49',
          firstSignupAt: '2026-11-30T10:00:00.000Z',
          // a2's request; a1's of 2027-04-01 is after AS_OF.
          lastActivityAt: '2027-02-01T00:00:00.000Z',
        },
        {
          account: 'org:org_b',
          orgId: 'org_b',
          developerId: null,
          members: 2,
          stage: 'production_deployment',
          stageLabel: 'Production deployment',
          stageAt: '2026-12-20T10:00:00.000Z',
          cohort: '2026-W49',
          firstSignupAt: '2026-12-02T10:00:00.000Z',
          lastActivityAt: '2026-12-02T09:00:00.000Z',
        },
        expect.objectContaining({ account: 'org:org_c', members: 1, stage: 'first_api_call', stageAt: '2026-12-28T10:00:00.000Z', cohort: '2026-W53', lastActivityAt: null }),
        expect.objectContaining({ account: 'org:org_d', members: 2, stage: 'first_api_call', stageAt: '2026-12-02T09:00:00.000Z', cohort: '2026-W48' }),
      ],
      nextCursor: null,
    });

    const ids = async (query: string) => (await api.ok(`/v1/organizations?asOf=${AS_OF}&${query}`)).items.map((i: any) => i.account);
    expect(await ids('stage=first_api_call')).toEqual(['org:org_c', 'org:org_d']);
    expect(await ids('cohort=2026-W49')).toEqual(['org:org_a', 'org:org_b']);
    expect(await ids('search=RG_B')).toEqual(['org:org_b']);
    expect(await ids('channel=paid')).toEqual(['org:org_a', 'org:org_b']);
    // With the individuals: every account unit=organization counts.
    expect(await ids('individuals=true')).toEqual(['developer:i1', 'developer:i2', 'developer:i3', 'org:org_a', 'org:org_b', 'org:org_c', 'org:org_d']);
    expect((await api.ok(`/v1/organizations?asOf=${AS_OF}&individuals=true&search=i1`)).items).toEqual([
      expect.objectContaining({ account: 'developer:i1', orgId: null, developerId: 'i1', members: 1, stage: 'production_deployment', cohort: '2026-W49' }),
    ]);

    const first = await api.ok(`/v1/organizations?asOf=${AS_OF}&limit=3`);
    expect(first.items.map((i: any) => i.orgId)).toEqual(['org_a', 'org_b', 'org_c']);
    const second = await api.ok(`/v1/organizations?asOf=${AS_OF}&limit=3&cursor=${first.nextCursor}`);
    expect(second.items.map((i: any) => i.orgId)).toEqual(['org_d']);
    expect(second.nextCursor).toBeNull();

    // As of 12-05: org_b is b1 alone, org_a stands at its first call (a2's, before a1's), org_c has no member yet.
    const early = await api.ok('/v1/organizations?asOf=2026-12-05T00:00:00Z');
    expect(early.items.map((i: any) => [i.orgId, i.members, i.stage, i.stageAt])).toEqual([
      ['org_a', 2, 'first_api_call', '2026-12-01T12:00:00.000Z'],
      ['org_b', 1, 'account_created', '2026-12-02T10:00:00.000Z'],
      ['org_d', 2, 'first_api_call', '2026-12-02T09:00:00.000Z'],
    ]);

    await api.expectBadParameter('/v1/organizations?stage=first_call', 'stage', /unknown stage "first_call"/);
    await api.expectBadParameter('/v1/organizations?cohort=W49', 'cohort', /ISO week/);
    await api.expectBadParameter('/v1/organizations?cursor=nope', 'cursor', /previous page/);
  });

  it("an organisation's page: when it reached each stage and by which member, and its members' journeys in short", async () => {
    const body = await api.ok('/v1/organizations/org_a', METRICS_TEST_KEYS.metrics);
    expect(body).toEqual({
      orgId: 'org_a',
      funnelVersion: 1,
      signedUpAt: '2026-11-30T10:00:00.000Z',
      stage: 'production_deployment',
      stageAt: '2027-01-20T10:00:00.000Z',
      stages: [
        { stage: 'intent', label: 'Intent', status: 'skipped' },
        { stage: 'account_created', label: 'Account created', status: 'reached', at: '2026-11-30T10:00:00.000Z', causeEventId: 'a1-account_created', reachedBy: 'a1' },
        { stage: 'credential_provisioned', label: 'Credential provisioned', status: 'skipped' },
        // a2's call, before a1's.
        { stage: 'first_api_call', label: 'First API call', status: 'reached', at: '2026-12-01T12:00:00.000Z', causeEventId: 'a2-first_api_call', reachedBy: 'a2' },
        { stage: 'first_integration_milestone', label: 'First integration milestone', status: 'skipped' },
        { stage: 'active_integration', label: 'Active integration', status: 'reached', at: '2026-12-05T10:00:00.000Z', causeEventId: 'a1-active_integration', reachedBy: 'a1' },
        {
          stage: 'production_deployment',
          label: 'Production deployment',
          status: 'reached',
          at: '2027-01-20T10:00:00.000Z',
          causeEventId: 'a1-production_deployment',
          reachedBy: 'a1',
        },
      ],
      members: [
        {
          developerId: 'a1',
          stage: 'production_deployment',
          stageLabel: 'Production deployment',
          stageAt: '2027-01-20T10:00:00.000Z',
          signedUpAt: '2026-11-30T10:00:00.000Z',
          accountType: 'organization',
          acquisitionChannel: 'organic_search',
        },
        {
          developerId: 'a2',
          stage: 'first_api_call',
          stageLabel: 'First API call',
          stageAt: '2026-12-01T12:00:00.000Z',
          signedUpAt: '2026-12-01T10:00:00.000Z',
          accountType: 'organization',
          acquisitionChannel: 'paid',
        },
      ],
    });
    // Each member's summary is their journey's.
    const journey = (await api.get('/v1/developers/a2/journey')).json();
    expect(body.members[1]).toMatchObject({ stage: journey.stage, stageAt: journey.stageAt, signedUpAt: journey.profile.signedUpAt });

    const missing = await api.get('/v1/organizations/org_zz');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ errors: [{ path: 'orgId', message: 'no organization org_zz' }] });
    await api.expectMetricsKeysOnly(['/v1/organizations/org_b', `/v1/organizations?asOf=${AS_OF}`]);
  });

  it('documents unit and the organisation routes in the OpenAPI document', async () => {
    const { paths } = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const metric of ['conversion', 'ttfac', 'production']) {
      const unit = paths[`/v1/metrics/${metric}`].get.parameters.find((p: { name: string }) => p.name === 'unit');
      expect(unit.schema, metric).toMatchObject({ enum: ['developer', 'organization'], default: 'developer' });
    }
    const sdkUnit = paths['/v1/metrics/sdk'].get.parameters.find((p: { name: string }) => p.name === 'unit');
    expect(sdkUnit.schema).toMatchObject({ enum: ['developer'] });
    expect(Object.keys(paths)).toEqual(expect.arrayContaining(['/v1/organizations', '/v1/organizations/{orgId}']));
  });
});
