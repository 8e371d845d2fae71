import type { Stage } from '../journey/stages.ts';

/** The benchmark bands (docs/concepts/funnel.md#benchmark-bands), best first. */
export const BANDS = ['top_quartile', 'median', 'below_median', 'warning'] as const;
export type Band = (typeof BANDS)[number];

export interface BandedTransition {
  from: Stage;
  to: Stage;
  windowDays: number;
  /** Lower bounds (fractions, inclusive) of top_quartile, median and below_median; below the last: warning. */
  atLeast: { top_quartile: number; median: number; below_median: number };
}

/**
 * The funnel reference model's stage-to-stage conversion benchmarks (docs/concepts/funnel.md#benchmark-bands):
 *
 * | Transition                                    | Top Quartile | Median | Warning |
 * | Signup → First API Call (7 days)              | 50%+         | 25–35% | <15%    |
 * | First API Call → Active Integration (14 days) | 65%+         | 40–55% | <25%    |
 * | Active Integration → Production (30 days)     | 55%+         | 30–45% | <15%    |
 *
 * The table leaves gaps; we close them so every rate has one band: at or above the top-quartile
 * figure → `top_quartile`; from the median range's lower end up to the top quartile (the range and
 * the gap above it) → `median`; from the warning threshold up to the median range → `below_median`;
 * under the warning threshold → `warning`. A band applies only to the table's own pair and window
 * (a 7-day benchmark says nothing about a 3-day window).
 */
export const REFERENCE_BANDS: readonly BandedTransition[] = [
  { from: 'account_created', to: 'first_api_call', windowDays: 7, atLeast: { top_quartile: 0.5, median: 0.25, below_median: 0.15 } },
  { from: 'first_api_call', to: 'active_integration', windowDays: 14, atLeast: { top_quartile: 0.65, median: 0.4, below_median: 0.25 } },
  { from: 'active_integration', to: 'production_deployment', windowDays: 30, atLeast: { top_quartile: 0.55, median: 0.3, below_median: 0.15 } },
];

/**
 * The fewest eligible a rate needs before it is placed in a band. At n = 100 the 95 % interval of a
 * rate near 30 % is ±9 points, about the width of a band (the median range spans 10–15 points);
 * below it a band would claim more than the data knows ("top quartile" on 20 developers).
 */
export const MIN_BANDED_ELIGIBLE = 100;

/** The reference row for a transition: only the table's own pair and window. */
export function benchmarkOf(transition: { from: string; to: string; windowDays: number }): BandedTransition | undefined {
  return REFERENCE_BANDS.find((b) => b.from === transition.from && b.to === transition.to && b.windowDays === transition.windowDays);
}

/** Why a transition has a band or not: `banded`, no benchmark for its pair and window, no rate, or too few eligible. */
export type BandStatus = 'banded' | 'no_benchmark' | 'no_rate' | 'n_too_small';
export const BAND_STATUSES = ['banded', 'no_benchmark', 'no_rate', 'n_too_small'] as const satisfies readonly BandStatus[];

export function bandStatusOf(transition: { from: string; to: string; windowDays: number }, rate: number | null, eligible: number): BandStatus {
  if (!benchmarkOf(transition)) return 'no_benchmark';
  if (rate === null) return 'no_rate';
  return eligible < MIN_BANDED_ELIGIBLE ? 'n_too_small' : 'banded';
}

/** The band of a rate for a transition, or null when the table has no benchmark for it (or there is no rate). */
export function bandOf(transition: { from: Stage; to: Stage; windowDays: number }, rate: number | null): Band | null {
  if (rate === null) return null;
  const benchmark = benchmarkOf(transition);
  if (!benchmark) return null;
  if (rate >= benchmark.atLeast.top_quartile) return 'top_quartile';
  if (rate >= benchmark.atLeast.median) return 'median';
  if (rate >= benchmark.atLeast.below_median) return 'below_median';
  return 'warning';
}
