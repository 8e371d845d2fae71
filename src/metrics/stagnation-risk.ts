/**
 * Stagnation risk: per developer, the probability of NOT reaching the next stage (or a later one)
 * within the stage's window W, given the time t they have already spent in their current stage.
 * Estimated from the cohort's own history with a Kaplan–Meier curve of the time from entering a
 * stage to leaving it forward, per stage and segment (acquisition channel × account type):
 * risk = S(t + W) / S(t). Pure: the SQL that feeds it lives in stagnation-risk-query.ts.
 */

const DAY_MS = 86_400_000;

/** A segment's own curve is used only when at least this many developers entered the stage in it; otherwise the stage's overall curve. */
export const MIN_SEGMENT_DEVELOPERS = 50;
/**
 * The estimate needs at least this many developers still observed (at risk) at t + W: beyond the
 * cohort's follow-up the curve says nothing, so the risk is unavailable rather than extrapolated.
 */
export const MIN_AT_RISK = 10;
/** The window of a stage no stall criterion starts from. */
export const DEFAULT_WINDOW_MS = 14 * DAY_MS;

/** One developer's time in a stage: until they reached a later stage (`exited`), or until asOf (right-censored). */
export interface Spell {
  durationMs: number;
  exited: boolean;
}

/** A Kaplan–Meier curve: at each distinct exit time, those at risk just before it and S just after it. */
export interface SurvivalCurve {
  /** Developers who entered the stage. */
  developers: number;
  /** Every observed duration, ascending (exits and censorings): for the number at risk at any time. */
  durations: readonly number[];
  /** Distinct exit times, ascending. */
  times: readonly number[];
  /** S(times[i]): the share still in the stage after times[i]. */
  survival: readonly number[];
}

/**
 * The product-limit estimator: S(t) = Π over exit times tᵢ ≤ t of (1 − dᵢ / nᵢ), with dᵢ the exits at
 * tᵢ and nᵢ those whose observed duration is ≥ tᵢ (a censoring at tᵢ counts as at risk at tᵢ: it was
 * observed through it).
 */
export function kaplanMeier(spells: readonly Spell[]): SurvivalCurve {
  const sorted = [...spells].sort((a, b) => a.durationMs - b.durationMs);
  const times: number[] = [];
  const survival: number[] = [];
  let s = 1;
  for (let i = 0; i < sorted.length;) {
    const t = sorted[i]!.durationMs;
    const atRisk = sorted.length - i;
    let exits = 0;
    for (; i < sorted.length && sorted[i]!.durationMs === t; i++) if (sorted[i]!.exited) exits++;
    if (exits > 0) {
      s *= 1 - exits / atRisk;
      times.push(t);
      survival.push(s);
    }
  }
  return { developers: sorted.length, durations: sorted.map((x) => x.durationMs), times, survival };
}

/** The first index in the ascending `values` whose value is > t (`strict`) or ≥ t. */
function firstAbove(values: readonly number[], t: number, strict: boolean): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (strict ? values[mid]! > t : values[mid]! >= t) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** S(t): the estimated share of developers still in the stage after t (1 before the first exit). */
export function survivalAt(curve: SurvivalCurve, t: number): number {
  const i = firstAbove(curve.times, t, true);
  return i === 0 ? 1 : curve.survival[i - 1]!;
}

/** Developers observed in the stage for at least t: those the curve at t rests on. */
export function atRiskAt(curve: SurvivalCurve, t: number): number {
  return curve.durations.length - firstAbove(curve.durations, t, false);
}

/** P(not leaving the stage within `windowMs` | still in it after `elapsedMs`) = S(t + W) / S(t); null when fewer than MIN_AT_RISK were observed through t + W. */
export function conditionalRisk(curve: SurvivalCurve, elapsedMs: number, windowMs: number): { risk: number | null; atRisk: number } {
  const atRisk = atRiskAt(curve, elapsedMs + windowMs);
  const before = survivalAt(curve, elapsedMs);
  if (atRisk < MIN_AT_RISK || before === 0) return { risk: null, atRisk };
  return { risk: survivalAt(curve, elapsedMs + windowMs) / before, atRisk };
}

/** A developer's history in the funnel in force: when they reached each of its stages (ms since epoch, in the funnel's order; null: not reached by asOf). */
export interface DeveloperHistory {
  id: string;
  channel: string | null;
  accountType: string | null;
  reached: readonly (number | null)[];
}

/** Their time in stage `index`: from reaching it to reaching any later stage, censored at asOf; undefined when they never reached it. */
export function spellIn(history: DeveloperHistory, index: number, asOfMs: number): Spell | undefined {
  const entered = history.reached[index];
  if (entered === null || entered === undefined) return undefined;
  const later = history.reached.slice(index + 1).filter((at): at is number => at !== null);
  if (later.length === 0) return { durationMs: asOfMs - entered, exited: false };
  // A later stage recorded before this one (out-of-order evidence) left it at once.
  return { durationMs: Math.max(0, Math.min(...later) - entered), exited: true };
}

/** Where a developer stands: the furthest stage of the funnel they reached (its index), or -1. */
export function currentStageIndex(history: DeveloperHistory): number {
  for (let i = history.reached.length - 1; i >= 0; i--) if (history.reached[i] !== null) return i;
  return -1;
}

const segmentKey = (channel: string | null, accountType: string | null) => JSON.stringify([channel, accountType]);

/** The curves of a cohort: per stage, its overall one and one per segment; built once, read per developer. */
export interface RiskModel {
  asOfMs: number;
  /** Per stage, in the funnel's order (the last stage has no next stage: no curve). */
  stages: readonly { overall: SurvivalCurve; segments: ReadonlyMap<string, SurvivalCurve>; windowMs: number }[];
}

/** `windowsMs[i]`: stage i's window W. */
export function riskModel(histories: readonly DeveloperHistory[], windowsMs: readonly number[], asOfMs: number): RiskModel {
  const stages = windowsMs.slice(0, -1).map((windowMs, index) => {
    const all: Spell[] = [];
    const bySegment = new Map<string, Spell[]>();
    for (const history of histories) {
      const spell = spellIn(history, index, asOfMs);
      if (spell === undefined) continue;
      all.push(spell);
      const key = segmentKey(history.channel, history.accountType);
      const spells = bySegment.get(key);
      if (spells === undefined) bySegment.set(key, [spell]);
      else spells.push(spell);
    }
    const segments = new Map<string, SurvivalCurve>();
    for (const [key, spells] of bySegment) if (spells.length >= MIN_SEGMENT_DEVELOPERS) segments.set(key, kaplanMeier(spells));
    return { overall: kaplanMeier(all), segments, windowMs };
  });
  return { asOfMs, stages };
}

export type RiskUnavailable = 'no-stage' | 'final-stage' | 'too-few-at-risk';

export interface DeveloperRisk {
  /** Index of the current stage in the funnel's order (-1: none reached). */
  stageIndex: number;
  timeInStageMs: number | null;
  windowMs: number | null;
  /** null: unavailable, `unavailable` says why. */
  risk: number | null;
  unavailable: RiskUnavailable | null;
  /** Developers the curve observed in the stage through t + W. */
  atRisk: number | null;
  /** Developers who entered the stage in the curve used. */
  curveDevelopers: number | null;
  /** The curve used: the developer's segment's own, or the stage's overall one. */
  segment: { channel: string | null; accountType: string | null } | 'overall' | null;
}

/**
 * A developer's risk in their current stage: their segment's curve when it has MIN_SEGMENT_DEVELOPERS
 * and enough at risk at t + W, else the stage's overall curve; unavailable when neither has.
 */
export function developerRisk(model: RiskModel, history: DeveloperHistory): DeveloperRisk {
  const stageIndex = currentStageIndex(history);
  const none = { timeInStageMs: null, windowMs: null, risk: null, atRisk: null, curveDevelopers: null, segment: null };
  if (stageIndex === -1) return { stageIndex, ...none, unavailable: 'no-stage' };
  const stage = model.stages[stageIndex];
  const timeInStageMs = model.asOfMs - history.reached[stageIndex]!;
  if (stage === undefined) return { stageIndex, ...none, timeInStageMs, unavailable: 'final-stage' };
  const own = stage.segments.get(segmentKey(history.channel, history.accountType));
  const candidates = [
    ...(own === undefined ? [] : [{ curve: own, segment: { channel: history.channel, accountType: history.accountType } }]),
    { curve: stage.overall, segment: 'overall' as const },
  ];
  let last: DeveloperRisk | undefined;
  for (const { curve, segment } of candidates) {
    const { risk, atRisk } = conditionalRisk(curve, timeInStageMs, stage.windowMs);
    last = { stageIndex, timeInStageMs, windowMs: stage.windowMs, risk, unavailable: risk === null ? 'too-few-at-risk' : null, atRisk, curveDevelopers: curve.developers, segment };
    if (risk !== null) return last;
  }
  return last!;
}
