import { describe, expect, it } from 'vitest';
import { conditionKey } from '../../../src/alerts/alert-condition.ts';
import { alertsFormat } from '../../../src/rules/alerts-file.ts';
import type { AlertKind, AlertsDocument } from '../../../src/rules/alerts-schema.ts';
import { conversionBelowBand } from '../../../src/alerts/conversion-below-band.ts';
import { endpointErrorSpike } from '../../../src/alerts/endpoint-error-spike.ts';
import { sourceSilent } from '../../../src/alerts/source-silent.ts';
import { ttfacTail } from '../../../src/alerts/ttfac-tail.ts';
import type { TransitionFigures } from '../../../src/metrics/stage-conversion.ts';
import type { TtfacCohort } from '../../../src/metrics/time-to-first-call.ts';

const defaults = (() => {
  const parsed = alertsFormat.parse('{}\n');
  if (!parsed.ok) throw new Error('the defaults do not parse');
  return parsed.document;
})();
const settings = <K extends AlertKind>(kind: K, overrides: Partial<AlertsDocument[K]> = {}): AlertsDocument[K] => ({ ...defaults[kind], ...overrides });

describe('conversionBelowBand', () => {
  const signupToCall = (eligible: number, converted: number): TransitionFigures => {
    const rate = converted / eligible;
    const band = rate < 0.15 ? 'warning' : rate < 0.25 ? 'below_median' : 'median';
    return {
      from: 'account_created',
      to: 'first_api_call',
      windowDays: 7,
      eligible,
      converted,
      rate,
      excluded: 0,
      band: eligible >= 100 ? band : null,
      bandStatus: eligible >= 100 ? 'banded' : 'n_too_small',
      weakest: false,
    };
  };
  const funnel = {
    version: 1,
    stages: [
      { id: 'account_created', label: 'Account created', role: null },
      { id: 'first_api_call', label: 'First API call', role: 'first_call' as const },
    ],
  };
  const report = (cohorts: [string, TransitionFigures][]) => ({ funnel, cohorts: cohorts.map(([cohort, t]) => ({ cohort, transitions: [t], reach: [], developers: t.eligible })) });

  it('fires when the newest cohort with enough eligible is in the warning band, naming the transition and the week, linking to that week', () => {
    const found = conversionBelowBand(
      report([
        ['2026-W48', signupToCall(150, 30)], // 20 %: below median, not warning
        ['2026-W49', signupToCall(150, 15)], // 10 %: warning
        ['2026-W50', signupToCall(60, 3)], // 5 % of 60: too few to band
      ]),
      settings('conversionBelowBand'),
    );
    expect(found).toEqual([
      expect.objectContaining({
        kind: 'conversionBelowBand',
        subject: 'account_created:first_api_call:7d',
        period: '2026-W49',
        detail: expect.objectContaining({ rate: 0.1, eligible: 150, converted: 15, warningBelow: 0.15 }),
        view: { query: { from: '2026-11-30', to: '2026-12-06' }, panel: 'funnelPanel' },
      }),
    ]);
    expect(found[0]!.summary).toBe('Account created → First API call within 7 days: 10.0% for the 2026-W49 signups (15 of 150), in the warning band (under 15.0%)');
  });

  it('judges only the newest cohort with enough eligible: an older week in the warning band is old news', () => {
    expect(
      conversionBelowBand(
        report([
          ['2026-W48', signupToCall(150, 15)],
          ['2026-W49', signupToCall(150, 30)],
        ]),
        settings('conversionBelowBand'),
      ),
    ).toEqual([]);
  });

  it('waits for minEligible', () => {
    expect(conversionBelowBand(report([['2026-W49', signupToCall(150, 15)]]), settings('conversionBelowBand', { minEligible: 200 }))).toEqual([]);
  });
});

describe('ttfacTail', () => {
  const week = (cohort: string, p90: number, reached = 50): TtfacCohort => ({
    cohort,
    developers: reached * 2,
    reached,
    percentiles: { p25: 60, p50: 600, p75: p90 / 2, p90 },
    risingTail: false,
  });
  // Wednesday of 2026-W50: the last complete week is 2026-W49.
  const now = new Date('2026-12-09T12:00:00Z');
  const baseline = [week('2026-W45', 10_000), week('2026-W46', 12_000), week('2026-W47', 14_000), week('2026-W48', 100_000)]; // median 13,000 s

  it("fires when the last complete week's p90 is above riseAbove × the median of the weeks before", () => {
    const found = ttfacTail({ cohorts: [...baseline, week('2026-W49', 20_000), week('2026-W50', 900_000)] }, settings('ttfacTail'), now);
    expect(found).toEqual([
      expect.objectContaining({
        kind: 'ttfacTail',
        subject: 'p90',
        period: '2026-W49',
        detail: expect.objectContaining({ seconds: 20_000, baselineSeconds: 13_000, baselineWeeks: ['2026-W45', '2026-W46', '2026-W47', '2026-W48'] }),
        view: { query: { from: '2026-11-02', to: '2026-12-06' }, panel: 'ttfacPanel' },
      }),
    ]);
  });

  it('stays quiet at or under the threshold, without enough developers, and on the current (unfinished) week', () => {
    expect(ttfacTail({ cohorts: [...baseline, week('2026-W49', 19_000)] }, settings('ttfacTail'), now)).toEqual([]);
    expect(ttfacTail({ cohorts: [...baseline, week('2026-W49', 20_000, 19)] }, settings('ttfacTail'), now)).toEqual([]);
    expect(ttfacTail({ cohorts: [...baseline, week('2026-W50', 900_000)] }, settings('ttfacTail'), now)).toEqual([]);
  });

  it('reads p75 when asked, against only the versusWeeks weeks before', () => {
    const found = ttfacTail({ cohorts: [...baseline, week('2026-W49', 160_000)] }, settings('ttfacTail', { percentile: 75, versusWeeks: 1 }), now);
    expect(found).toEqual([expect.objectContaining({ subject: 'p75', detail: expect.objectContaining({ seconds: 80_000, baselineSeconds: 50_000 }) })]);
    expect(ttfacTail({ cohorts: [...baseline, week('2026-W49', 150_000)] }, settings('ttfacTail', { percentile: 75, versusWeeks: 2 }), now)).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ seconds: 75_000, baselineSeconds: 28_500 }) }),
    ]);
  });
});

describe('endpointErrorSpike', () => {
  const counts = (endpoint: string, window: [number, number], baseline: [number, number]) => ({
    endpoint,
    window: { requests: window[0], errors: window[1] },
    baseline: { requests: baseline[0], errors: baseline[1] },
  });

  it('fires per endpoint with minErrors in the window at more than ratioAbove × its baseline rate', () => {
    const found = endpointErrorSpike(
      [
        counts('POST /v1/charges', [100, 40], [10_000, 500]), // 40 % against 5 %
        counts('GET /v1/balance', [100, 12], [10_000, 500]), // 12 %, but 12 errors < 20
        counts('GET /v1/customers', [100, 25], [10_000, 1_000]), // 25 % against 10 %: 2.5× only
        counts('POST /v1/refunds', [30, 20], [0, 0]), // no baseline: minErrors decides
      ],
      settings('endpointErrorSpike'),
    );
    expect(found.map((c) => conditionKey(c))).toEqual(['endpointErrorSpike/POST /v1/charges/', 'endpointErrorSpike/POST /v1/refunds/']);
    expect(found[0]!.summary).toBe('First-session errors on POST /v1/charges: 40 of 100 requests (40.0%) in the last 1h, against 5.0% over the 7d before');
  });
});

describe('sourceSilent', () => {
  const now = new Date('2026-12-09T12:00:00Z');
  const ago = (hours: number) => new Date(now.getTime() - hours * 3_600_000);

  it('fires for a source quiet longer than `after`, with its last request as the period; never for import', () => {
    const found = sourceSilent(
      [
        { source: 'segment', lastReceivedAt: ago(7) },
        { source: 'kong', lastReceivedAt: ago(5) },
        { source: 'import', lastReceivedAt: ago(500) },
      ],
      settings('sourceSilent'),
      now,
    );
    expect(found).toEqual([expect.objectContaining({ kind: 'sourceSilent', subject: 'segment', period: ago(7).toISOString(), view: { query: {}, panel: 'dataQuality' } })]);
    expect(found[0]!.summary).toBe(`The segment source has received nothing for 7.0 h (last at ${ago(7).toISOString()}; alert after 6h)`);
  });
});
