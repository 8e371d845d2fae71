import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFERENCE_BANDS, bandOf, type Band } from '../../src/metrics/conversion-bands.ts';
import { METRICS_TEST_KEYS, startMetricsTestApp, type MetricsTestApp, type FixtureDeveloper } from '../support/metrics-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

/** Every figure below is computed as of this instant (a Monday). */
const AS_OF = '2027-03-15T00:00:00.000Z';

interface Fixture extends FixtureDeveloper {
  stages?: Partial<Record<'first_api_call' | 'active_integration' | 'production_deployment', string>>;
}

/*
 * Thirteen developers in three ISO signup weeks (UTC), plus one who signs up after AS_OF.
 * TTFAC (first call − signup) in seconds is noted per developer.
 *
 * 2026-W49 (Mon 2026-11-30 … Sun 2026-12-06)
 *   a1 organic/individual   first call +1 h (3600), active +2 d after it, production 40 d after active
 *   a2 paid/organization    first call +2 h (7200), active 20 d after it (outside 14 d), no production
 *   a3 organic/individual   first call +2 d (172800), nothing more
 *   a4 listing/individual   never calls (a first call dated after AS_OF is added in the asOf test)
 *   a5 paid/organization    first call +4 h (14400), production 3 d after it: active_integration SKIPPED
 * 2026-W53 (Mon 2026-12-28 … Sun 2027-01-03: the ISO week-year 2026 has 53 weeks; 2027-01-01..03 belong to it)
 *   b1 organic/individual   first call +30 min (1800), active +12 h (a LATE row), production +24 h
 *   b2 organic/individual   signs up 2026-12-31T23:30, first call 2027-01-01T02:30 (10800), nothing more
 *   b3 paid/individual      first call +2 h (7200), active 1 d after, production 2027-02-20 (48 d after active)
 *   b4 direct/organization  first call +8 h (28800), production 2027-03-20: after AS_OF, ignored
 *   b5 referral/individual  signs up 2027-01-01T00:00, first call +6 d (518400), active 3 d after, production 5 d after that
 * 2027-W10 (Mon 2027-03-08 … Sun 2027-03-14)
 *   c1 organic/individual   signs up 2027-03-12, no first call: its 7-day window ends 03-19, after AS_OF
 *   c2 organic/individual   first call +1 h (3600), active 2027-03-10 (its 30-day window to production open at AS_OF)
 *   c3 organic/individual   first call +2 h (7200), nothing more (its 14-day window open at AS_OF)
 * z1 signs up 2027-03-20, after AS_OF: counted nowhere.
 */
const FIXTURES: Fixture[] = [
  {
    id: 'a1',
    channel: 'organic_search',
    accountType: 'individual',
    signup: '2026-11-30T10:00:00Z',
    stages: { first_api_call: '2026-11-30T11:00:00Z', active_integration: '2026-12-02T11:00:00Z', production_deployment: '2027-01-11T11:00:00Z' },
  },
  {
    id: 'a2',
    channel: 'paid',
    accountType: 'organization',
    orgId: 'org_1',
    signup: '2026-12-01T10:00:00Z',
    stages: { first_api_call: '2026-12-01T12:00:00Z', active_integration: '2026-12-21T12:00:00Z' },
  },
  { id: 'a3', channel: 'organic_search', accountType: 'individual', signup: '2026-12-02T10:00:00Z', stages: { first_api_call: '2026-12-04T10:00:00Z' } },
  { id: 'a4', channel: 'listing_site', accountType: 'individual', signup: '2026-12-03T10:00:00Z' },
  {
    id: 'a5',
    channel: 'paid',
    accountType: 'organization',
    orgId: 'org_1',
    signup: '2026-12-03T12:00:00Z',
    stages: { first_api_call: '2026-12-03T16:00:00Z', production_deployment: '2026-12-06T16:00:00Z' },
  },
  {
    id: 'b1',
    channel: 'organic_search',
    accountType: 'individual',
    signup: '2026-12-28T09:00:00Z',
    stages: { first_api_call: '2026-12-28T09:30:00Z', active_integration: '2026-12-28T21:00:00Z', production_deployment: '2026-12-29T09:00:00Z' },
    late: ['active_integration'],
  },
  { id: 'b2', channel: 'organic_search', accountType: 'individual', signup: '2026-12-31T23:30:00Z', stages: { first_api_call: '2027-01-01T02:30:00Z' } },
  {
    id: 'b3',
    channel: 'paid',
    accountType: 'individual',
    signup: '2027-01-02T12:00:00Z',
    stages: { first_api_call: '2027-01-02T14:00:00Z', active_integration: '2027-01-03T14:00:00Z', production_deployment: '2027-02-20T00:00:00Z' },
  },
  {
    id: 'b4',
    channel: 'direct',
    accountType: 'organization',
    orgId: 'org_2',
    signup: '2027-01-03T08:00:00Z',
    stages: { first_api_call: '2027-01-03T16:00:00Z', production_deployment: '2027-03-20T00:00:00Z' },
  },
  {
    id: 'b5',
    channel: 'referral',
    accountType: 'individual',
    signup: '2027-01-01T00:00:00Z',
    stages: { first_api_call: '2027-01-07T00:00:00Z', active_integration: '2027-01-10T00:00:00Z', production_deployment: '2027-01-15T00:00:00Z' },
  },
  { id: 'c1', channel: 'organic_search', accountType: 'individual', signup: '2027-03-12T00:00:00Z' },
  {
    id: 'c2',
    channel: 'organic_search',
    accountType: 'individual',
    signup: '2027-03-08T00:00:00Z',
    stages: { first_api_call: '2027-03-08T01:00:00Z', active_integration: '2027-03-10T00:00:00Z' },
  },
  { id: 'c3', channel: 'organic_search', accountType: 'individual', signup: '2027-03-09T00:00:00Z', stages: { first_api_call: '2027-03-09T02:00:00Z' } },
  { id: 'z1', channel: 'organic_search', accountType: 'individual', signup: '2027-03-20T00:00:00Z', stages: { first_api_call: '2027-03-20T01:00:00Z' } },
];

const T1 = { from: 'account_created', to: 'first_api_call', windowDays: 7 };
const T2 = { from: 'first_api_call', to: 'active_integration', windowDays: 14 };
const T3 = { from: 'active_integration', to: 'production_deployment', windowDays: 30 };

describe.each(databaseBackends())('the metrics API (%s)', (backend) => {
  let api: MetricsTestApp;

  beforeAll(async () => {
    api = await startMetricsTestApp(backend);
    await api.insertDevelopers(FIXTURES);
  });
  afterAll(async () => {
    await api?.close();
  });

  /**
   * A transition's figures. These fixtures are far below the band's minimum n, so no band is given
   * (`n_too_small`) and none is the weakest; `wouldBe` is the band the rate falls in, checked against
   * the table (a band applies only from MIN_BANDED_ELIGIBLE eligible: test/unit/conversion-bands.test.ts).
   */
  const figures = (t: { from: string; to: string; windowDays: number }, eligible: number, converted: number, excluded: number, wouldBe: Band | null) => {
    const rate = eligible === 0 ? null : converted / eligible;
    expect(bandOf(t, rate), `${t.from}:${t.to}:${t.windowDays}d at ${rate}`).toBe(wouldBe);
    const benchmarked = REFERENCE_BANDS.some((b) => b.from === t.from && b.to === t.to && b.windowDays === t.windowDays);
    return { ...t, eligible, converted, excluded, rate, band: null, bandStatus: !benchmarked ? 'no_benchmark' : rate === null ? 'no_rate' : 'n_too_small', weakest: false };
  };

  it('conversion within the benchmarked windows, overall and per ISO week, with bands and the weakest transition', async () => {
    const body = await api.ok(`/v1/metrics/conversion?asOf=${AS_OF}`);
    expect(body.asOf).toBe(AS_OF);
    // T1 signup → first call, 7 d. Reached account_created: 13 (z1 signed up after AS_OF).
    //   c1: not called, window ends 03-19 > AS_OF → excluded. a4: window elapsed, not called → eligible, not converted.
    //   eligible 13 − 1 = 12, converted 11 (all but a4) → 11/12 = 0.917 ≥ 0.50 → top_quartile.
    // T2 first call → active, 14 d. Reached first call: a1 a2 a3 a5 b1..b5 c2 c3 = 11.
    //   c3: window ends 03-23 > AS_OF, not active → excluded. Converted: a1, a5 (skipped active, production
    //   3 d after the call), b1 (late active row), b3, b5, c2 = 6; not: a2 (20 d), a3, b2, b4 (production after AS_OF).
    //   eligible 10, 6/10 = 0.6: 0.40 ≤ 0.6 < 0.65 → median.
    // T3 active → production, 30 d. Reached active: a1 a2 b1 b3 b5 c2 (a5 skipped it: not eligible).
    //   c2: window ends 04-09 > AS_OF → excluded. Converted: b1 (12 h), b5 (5 d); not: a1 (40 d), a2, b3 (48 d).
    //   eligible 5, 2/5 = 0.4: 0.30 ≤ 0.4 < 0.55 → median. Weakest: T2 and T3 both median, T3's rate lower.
    expect(body.overall).toEqual([figures(T1, 12, 11, 1, 'top_quartile'), figures(T2, 10, 6, 1, 'median'), figures(T3, 5, 2, 1, 'median')]);

    // The funnel as a whole: reached a stage or a later one by AS_OF. Everyone signed up (and so is past intent);
    // a4 and c1 never called; active or beyond: a1 a2 b1 b3 b5 c2, and a5 (skipped it, went live); live by AS_OF:
    // a1 a5 b1 b3 b5 (b4's production is after AS_OF). Nobody completed the quickstart: it counts those past it.
    expect(body.counted).toBe(13);
    expect(body.bandMinimumEligible).toBe(100);
    const reached = [13, 13, 11, 11, 7, 7, 5];
    expect(body.reach).toEqual(
      ['intent', 'account_created', 'credential_provisioned', 'first_api_call', 'first_integration_milestone', 'active_integration', 'production_deployment'].map((stage, i) => ({
        stage,
        label: expect.any(String),
        reached: reached[i],
        dropped: i === 0 ? 0 : reached[i - 1]! - reached[i]!,
        fromPrevious: i === 0 ? null : reached[i]! / reached[i - 1]!,
        fromTop: reached[i]! / 13,
      })),
    );
    expect(body.reach[3].label).toBe('First API call');
    // W10 (c1 c2 c3): c1 never called; c2 active.
    expect(body.cohorts[2].reach.map((r: { reached: number }) => r.reached)).toEqual([3, 3, 2, 2, 1, 1, 0]);

    expect(body.cohorts.map((c: { cohort: string; developers: number }) => [c.cohort, c.developers])).toEqual([
      ['2026-W49', 5],
      ['2026-W53', 5], // b2 (2026-12-31) and b5 (2027-01-01) are in 2026's week 53, not 2027-W01 nor 2026-W52
      ['2027-W10', 3],
    ]);
    const [w49, w53, w10] = body.cohorts;
    // W49: T1 4/5 = 0.8 top; T2 a1 a5 of a1 a2 a3 a5 = 2/4 = 0.5 median; T3 0 of a1 a2 = 0 < 0.15 → warning, weakest.
    expect(w49.transitions).toEqual([figures(T1, 5, 4, 0, 'top_quartile'), figures(T2, 4, 2, 0, 'median'), figures(T3, 2, 0, 0, 'warning')]);
    // W53: T1 5/5 top; T2 b1 b3 b5 of five = 0.6 median (weakest); T3 b1 b5 of b1 b3 b5 = 0.667 ≥ 0.55 → top.
    expect(w53.transitions).toEqual([figures(T1, 5, 5, 0, 'top_quartile'), figures(T2, 5, 3, 0, 'median'), figures(T3, 3, 2, 0, 'top_quartile')]);
    // W10: T1 c2 c3 converted, c1 excluded; T2 c2 converted, c3 excluded; T3 c2 excluded → no rate, no band.
    // (With enough developers, T1 and T2 would tie at top_quartile, 1.0, and the first be flagged weakest.)
    expect(w10.transitions).toEqual([figures(T1, 2, 2, 1, 'top_quartile'), figures(T2, 1, 1, 1, 'top_quartile'), figures(T3, 0, 0, 1, null)]);
  });

  it('custom transitions: skipping a stage converts to it, and a pair without a benchmark has no band', async () => {
    const body = await api.ok(
      `/v1/metrics/conversion?asOf=${AS_OF}&transitions=first_api_call:active_integration:14d,account_created:production_deployment:60d,account_created:first_api_call:1d`,
    );
    // first_api_call → active_integration 14 d: as above (a5 converts through production, skipping active).
    // account_created → production 60 d: production within 60 d of signup: a1 (42 d), a5 (3 d), b1 (1 d),
    //   b3 (49.5 d), b5 (14 d) = 5. Windows open at AS_OF without production: c1, c2, c3 (signed up ≥ 03-08);
    //   b4's production is after AS_OF and its window (to 03-04) elapsed → eligible. eligible 13 − 3 = 10 → 0.5.
    // account_created → first_api_call 1 d: all first calls within a day except a3 (2 d) and b5 (6 d); a4 never;
    //   c1's day elapsed (03-13) → eligible. eligible 13, converted 9 (a1 a2 a5 b1 b2 b3 b4 c2 c3).
    // Neither of the last two is in the benchmark table (docs/concepts/funnel.md#benchmark-bands) (pair, or window): no band; the weakest is the only banded one.
    const T60 = { from: 'account_created', to: 'production_deployment', windowDays: 60 };
    const T1d = { from: 'account_created', to: 'first_api_call', windowDays: 1 };
    expect(body.overall).toEqual([figures(T2, 10, 6, 1, 'median'), figures(T60, 10, 5, 3, null), figures(T1d, 13, 9, 0, null)]);
  });

  it('filters by channel, account type and org', async () => {
    // organic_search: a1 a3 b1 b2 c1 c2 c3. T1: c1 excluded, the other six converted → 6/6.
    // T2: first call a1 a3 b1 b2 c2 c3; c3 excluded; converted a1 b1 c2 → 3/5 = 0.6.
    // T3: active a1 b1 c2; c2 excluded; b1 converted → 1/2 = 0.5 median.
    const organic = await api.ok(`/v1/metrics/conversion?asOf=${AS_OF}&channel=organic_search`);
    expect(organic.overall).toEqual([figures(T1, 6, 6, 1, 'top_quartile'), figures(T2, 5, 3, 1, 'median'), figures(T3, 2, 1, 1, 'median')]);
    // organization: a2 a5 b4. T1 3/3; T2: a5 converted (skip), a2 and b4 not → 1/3 = 0.333: 0.25 ≤ r < 0.40 → below_median;
    // T3: a2 only, not converted → 0/1 warning (weakest).
    const orgs = await api.ok(`/v1/metrics/conversion?asOf=${AS_OF}&accountType=organization`);
    expect(orgs.overall).toEqual([figures(T1, 3, 3, 0, 'top_quartile'), figures(T2, 3, 1, 0, 'below_median'), figures(T3, 1, 0, 0, 'warning')]);
    const org1 = await api.ok(`/v1/metrics/production?asOf=${AS_OF}&orgId=org_1`);
    // org_1: a2, a5 (both W49); a5's production 3 d after signup.
    expect(org1.cohorts).toEqual([{ cohort: '2026-W49', developers: 2, d30: { reached: 1, rate: 0.5 }, d60: { reached: 1, rate: 0.5 }, d90: { reached: 1, rate: 0.5 } }]);
    // from/to are signup days, inclusive: 2026-12-31 .. 2027-01-01 → b2 and b5.
    const days = await api.ok(`/v1/metrics/ttfac?asOf=${AS_OF}&from=2026-12-31&to=2027-01-01`);
    expect(days.overall).toMatchObject({ developers: 2, reached: 2 });
    // an instant is inclusive too: to = b2's signup instant keeps b2, drops b5.
    const instant = await api.ok(`/v1/metrics/ttfac?asOf=${AS_OF}&from=2026-12-31&to=2026-12-31T23:30:00Z`);
    expect(instant.overall).toMatchObject({ developers: 1, reached: 1, percentiles: { p25: 10800, p50: 10800, p75: 10800, p90: 10800 } });
  });

  it('time to first call: percentiles by linear interpolation, per cohort and overall, with the rising-tail flag', async () => {
    const body = await api.ok(`/v1/metrics/ttfac?asOf=${AS_OF}`);
    // percentile_cont(p) over n sorted values: position p·(n − 1), interpolating between its neighbours.
    // W49: 3600, 7200, 14400, 172800 (a4 never called): n = 4, positions 0.75, 1.5, 2.25, 2.7.
    //   p25 = 3600 + 0.75·3600 = 6300; p50 = 7200 + 0.5·7200 = 10800;
    //   p75 = 14400 + 0.25·(172800 − 14400) = 54000; p90 = 14400 + 0.7·158400 = 125280.
    // W53: 1800, 7200, 10800, 28800, 518400: positions 1, 2, 3, 3.6.
    //   p25 = 7200; p50 = 10800; p75 = 28800; p90 = 28800 + 0.6·(518400 − 28800) = 322560.
    //   Against W49: p50 10800 = 10800 (within ±10 %), p90 322560 > 1.2 · 125280 → rising tail.
    // W10: 3600, 7200 (c1 not yet): positions 0.25, 0.5, 0.75, 0.9 → 4500, 5400, 6300, 6840.
    //   p50 5400 is −50 % against W53: not a stable median → not flagged.
    expect(body.cohorts).toEqual([
      { cohort: '2026-W49', developers: 5, reached: 4, percentiles: { p25: 6300, p50: 10800, p75: 54000, p90: 125280 }, risingTail: false },
      { cohort: '2026-W53', developers: 5, reached: 5, percentiles: { p25: 7200, p50: 10800, p75: 28800, p90: 322560 }, risingTail: true },
      { cohort: '2027-W10', developers: 3, reached: 2, percentiles: { p25: 4500, p50: 5400, p75: 6300, p90: 6840 }, risingTail: false },
    ]);
    // Overall, 11 values: 1800, 3600, 3600, 7200, 7200, 7200, 10800, 14400, 28800, 172800, 518400; positions p·10:
    //   p25 at 2.5 = 3600 + 0.5·(7200 − 3600) = 5400; p50 at 5 = 7200; p75 at 7.5 = (14400 + 28800)/2 = 21600; p90 at 9 = 172800.
    expect(body.overall).toEqual({ developers: 13, reached: 11, percentiles: { p25: 5400, p50: 7200, p75: 21600, p90: 172800 } });

    // The same from the definition (linear interpolation between closest ranks), for every cohort and percentile.
    const cont = (values: number[], p: number) => {
      const sorted = [...values].sort((x, y) => x - y);
      const position = p * (sorted.length - 1);
      const below = Math.floor(position);
      const above = Math.min(below + 1, sorted.length - 1);
      return sorted[below]! + (position - below) * (sorted[above]! - sorted[below]!);
    };
    const seconds = { '2026-W49': [3600, 7200, 172800, 14400], '2026-W53': [1800, 10800, 7200, 28800, 518400], '2027-W10': [3600, 7200] } as Record<string, number[]>;
    for (const cohort of body.cohorts) {
      for (const [key, p] of [
        ['p25', 0.25],
        ['p50', 0.5],
        ['p75', 0.75],
        ['p90', 0.9],
      ] as const) {
        expect(cohort.percentiles[key], `${cohort.cohort} ${key}`).toBeCloseTo(cont(seconds[cohort.cohort]!, p), 3);
      }
    }
  });

  it('production at 30/60/90 days per cohort, null for horizons a cohort has not reached', async () => {
    const body = await api.ok(`/v1/metrics/production?asOf=${AS_OF}`, METRICS_TEST_KEYS.metrics);
    expect(body.cohorts).toEqual([
      // Last signup 2026-12-03T12:00: +90 d = 2027-03-03T12:00 ≤ AS_OF, all horizons known.
      // a5 at 3 d; a1 at 42 d (not within 30). d30 1/5, d60 2/5, d90 2/5.
      { cohort: '2026-W49', developers: 5, d30: { reached: 1, rate: 0.2 }, d60: { reached: 2, rate: 0.4 }, d90: { reached: 2, rate: 0.4 } },
      // Last signup b4 2027-01-03T08:00: +60 d = 03-04 ≤ AS_OF, +90 d = 04-03 > AS_OF → d90 null.
      // b1 at 1 d, b5 at 14 d, b3 at 48.5 d; b4's production (03-20) is after AS_OF. d30 2/5, d60 3/5.
      { cohort: '2026-W53', developers: 5, d30: { reached: 2, rate: 0.4 }, d60: { reached: 3, rate: 0.6 }, d90: null },
      // Last signup 03-12: +30 d is after AS_OF.
      { cohort: '2027-W10', developers: 3, d30: null, d60: null, d90: null },
    ]);
  });

  it('is reproducible as of an instant: later rows and signups change nothing', async () => {
    const earlier = '2027-01-05T00:00:00.000Z';
    const urls = ['conversion', 'ttfac', 'production'].flatMap((m) => [`/v1/metrics/${m}?asOf=${earlier}`, `/v1/metrics/${m}?asOf=${AS_OF}`]);
    const before = await Promise.all(urls.map((url) => api.ok(url)));
    // As of 2027-01-05: a1..a5 and b1..b5. b5's first call (01-07) has not happened and its window (to 01-08)
    // is open → excluded; a4 never called → eligible 9, converted 8 (a1 a2 a3 a5 b1 b2 b3 b4).
    expect(before[0].overall[0]).toEqual(figures(T1, 9, 8, 1, 'top_quartile'));
    // W49's last signup + 30 d = 2027-01-02T12:00 ≤ 01-05: d30 known (a5; a1's production is on 01-11); +60 d not.
    // W53's last signup (01-03) + 30 d is after 01-05: nothing known yet.
    expect(before[4].cohorts).toEqual([
      { cohort: '2026-W49', developers: 5, d30: { reached: 1, rate: 0.2 }, d60: null, d90: null },
      { cohort: '2026-W53', developers: 5, d30: null, d60: null, d90: null },
    ]);

    // Rows dated after both instants: a4 calls at last, a new developer signs up.
    await api.expectUnchangedBy(urls, before, {
      insert: [
        `INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id) VALUES ('a4', 'first_api_call', '2027-04-01T00:00:00Z', 'a4-late-call')`,
        `INSERT INTO developers (id, account_type, acquisition_channel, signed_up_at) VALUES ('z2', 'individual', 'paid', '2027-04-02T00:00:00Z')`,
      ],
      remove: [`DELETE FROM journey_stages WHERE cause_event_id = 'a4-late-call'`, `DELETE FROM developers WHERE id = 'z2'`],
    });

    // Without asOf: now.
    const now = await api.ok('/v1/metrics/ttfac');
    expect(Math.abs(Date.parse(now.asOf) - Date.now())).toBeLessThan(60_000);
  });

  it('answers 400 naming the parameter', async () => {
    const cases: [query: string, path: string, message: RegExp][] = [
      ['asOf=yesterday', 'asOf', /ISO-8601/],
      ['asOf=2027-03-15', 'asOf', /ISO-8601/],
      ['from=2027-02-30', 'from', /YYYY-MM-DD/],
      ['to=soon', 'to', /YYYY-MM-DD/],
      ['channel=tv', 'channel', /organic_search/],
      ['accountType=team', 'accountType', /individual/],
      ['transitions=account_created:first_call:7d', 'transitions', /unknown stage "first_call"/],
      ['transitions=first_api_call:account_created:7d', 'transitions', /must come after/],
      ['transitions=account_created:first_api_call:7', 'transitions', /whole days/],
      ['transitions=account_created:first_api_call', 'transitions', /from:to:<days>d/],
    ];
    for (const [query, path, message] of cases) await api.expectBadParameter(`/v1/metrics/conversion?${query}`, path, message);
    expect((await api.get('/v1/metrics/ttfac?asOf=nope')).json().errors[0].path).toBe('asOf');
  });

  it('accepts the admin and the metrics key, and answers 401 to the ingest key and to none', async () => {
    await api.expectMetricsKeysOnly(['conversion', 'ttfac', 'production'].map((endpoint) => `/v1/metrics/${endpoint}?asOf=${AS_OF}`));
    // The metrics key reads metrics only.
    expect((await api.get('/v1/rules', METRICS_TEST_KEYS.metrics)).statusCode).toBe(401);
  });

  it('documents the endpoints in the OpenAPI document', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const paths = response.json().paths;
    expect(Object.keys(paths)).toEqual(expect.arrayContaining(['/v1/metrics/conversion', '/v1/metrics/ttfac', '/v1/metrics/production']));
    const parameters = paths['/v1/metrics/conversion'].get.parameters.map((p: { name: string }) => p.name);
    expect(parameters).toEqual(expect.arrayContaining(['from', 'to', 'channel', 'accountType', 'orgId', 'asOf', 'transitions']));
  });
});
