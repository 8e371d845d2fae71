/**
 * When a developer's stagnation risk crosses the threshold of a rule (`when.risk`) or of a stall
 * criterion (`risk`), as the worker measured it on the cohort's curves (src/metrics/risk-crossings.ts):
 * per criterion and segment, the time in the stage from which the risk is above the threshold.
 * The journey gets it beside the rules in force, in the same recorded read: the machine reads no
 * database and no model, only these numbers.
 */
export interface RiskCrossings {
  /** The end of the history the curves were built from (ISO, the start of an hour). */
  asOf: string;
  /**
   * Per criterion (`rule:<id>`, `stall:<id>`), per segment (riskSegmentKey): the time in the stage
   * (ms) from which the risk is above the threshold; null: it never is, as far as the curves can tell.
   */
  criteria: Record<string, Record<string, number | null>>;
}

/** A criterion waiting on a crossing the curves cannot tell yet is looked at again after this long. */
export const RISK_RECHECK_MS = 86_400_000;

/** The segment a risk is measured in: acquisition channel × account type (either may be unknown). */
export const riskSegmentKey = (channel: string | null | undefined, accountType: string | null | undefined): string => `${channel ?? ''}|${accountType ?? ''}`;

/** The time in the stage at which the criterion's risk crosses for this segment; null when it never does or nothing was measured. */
export function riskCrossing(crossings: RiskCrossings | undefined, criterion: string, channel: string | null | undefined, accountType: string | null | undefined): number | null {
  return crossings?.criteria[criterion]?.[riskSegmentKey(channel, accountType)] ?? null;
}
