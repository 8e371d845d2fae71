/**
 * Stagnation risk: per developer, the probability of NOT reaching the next stage (or a later one)
 * within the stage's window W, given the time t they have already spent in their current stage.
 * Estimated from the cohort's own history with a Kaplan–Meier curve of the time from entering a
 * stage to leaving it forward, per stage and segment (acquisition channel × account type):
 * risk = S(t + W) / S(t). Pure: the SQL that measures the spells lives in stagnation-risk-query.ts.
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

/**
 * Spells packed one number each, `durationMs × 2 + 1` when exited (`+ 0` when censored): a million
 * developers' spells sort natively, with no object per spell (objects and a comparator took 8.5 s of
 * CPU a model at 1,000,000 developers, 1.2 s packed: bench/RESULTS.md). Durations are whole ms.
 */
export type PackedSpells = Float64Array;

export const packSpells = (spells: readonly Spell[] | PackedSpells): PackedSpells =>
  spells instanceof Float64Array ? spells : Float64Array.from(spells, (s) => Math.round(s.durationMs) * 2 + (s.exited ? 1 : 0));

/** A Kaplan–Meier curve: at each distinct exit time, those at risk just before it and S just after it. */
export interface SurvivalCurve {
  /** Developers who entered the stage. */
  developers: number;
  /** Every observed duration, ascending (exits and censorings): for the number at risk at any time. */
  durations: Float64Array;
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
export function kaplanMeier(spells: readonly Spell[] | PackedSpells): SurvivalCurve {
  // Sorted by the packed number is sorted by duration; a duration's spells are 2d and 2d + 1.
  const sorted = Float64Array.from(packSpells(spells)).sort();
  const durations = sorted.map((x) => Math.floor(x / 2));
  const times: number[] = [];
  const survival: number[] = [];
  let s = 1;
  for (let i = 0; i < sorted.length;) {
    const t = durations[i]!;
    const atRisk = sorted.length - i;
    let exits = 0;
    for (; i < sorted.length && durations[i] === t; i++) exits += sorted[i]! % 2;
    if (exits > 0) {
      s *= 1 - exits / atRisk;
      times.push(t);
      survival.push(s);
    }
  }
  return { developers: sorted.length, durations, times, survival };
}

/** The first index in the ascending `values` whose value is > t (`strict`) or ≥ t. */
function firstAbove(values: ArrayLike<number>, t: number, strict: boolean): number {
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

/** The spells of one stage (its index in the funnel's order) and segment. */
export interface SegmentSpells {
  stageIndex: number;
  channel: string | null;
  accountType: string | null;
  spells: readonly Spell[] | PackedSpells;
}

const segmentKey = (channel: string | null, accountType: string | null) => JSON.stringify([channel, accountType]);

/** The curves of a cohort: per stage, its overall one and one per segment; built once, read per developer. */
export interface RiskModel {
  asOfMs: number;
  /** Per stage, in the funnel's order (the last stage has no next stage: no curve). */
  stages: readonly { overall: SurvivalCurve; segments: ReadonlyMap<string, SurvivalCurve>; windowMs: number }[];
}

/** `windowsMs[i]`: stage i's window W (one per stage of the funnel). */
export function riskModel(groups: readonly SegmentSpells[], windowsMs: readonly number[], asOfMs: number): RiskModel {
  const stages = windowsMs.slice(0, -1).map((windowMs, index) => {
    const mine = groups.filter((g) => g.stageIndex === index);
    const segments = new Map<string, SurvivalCurve>();
    for (const g of mine) if (g.spells.length >= MIN_SEGMENT_DEVELOPERS) segments.set(segmentKey(g.channel, g.accountType), kaplanMeier(g.spells));
    return { overall: kaplanMeier(concatenated(mine.map((g) => packSpells(g.spells)))), segments, windowMs };
  });
  return { asOfMs, stages };
}

function concatenated(parts: readonly PackedSpells[]): PackedSpells {
  const all = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

/** Where a developer stands: the index of the furthest stage of the funnel they reached by asOf (-1: none), and when they reached it. */
export interface Position {
  stageIndex: number;
  stageAtMs: number | null;
  channel: string | null;
  accountType: string | null;
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
export function developerRisk(model: RiskModel, position: Position): DeveloperRisk {
  const { stageIndex, stageAtMs } = position;
  const none = { timeInStageMs: null, windowMs: null, risk: null, atRisk: null, curveDevelopers: null, segment: null };
  if (stageIndex === -1 || stageAtMs === null) return { stageIndex: -1, ...none, unavailable: 'no-stage' };
  const stage = model.stages[stageIndex];
  const timeInStageMs = model.asOfMs - stageAtMs;
  if (stage === undefined) return { stageIndex, ...none, timeInStageMs, unavailable: 'final-stage' };
  const own = stage.segments.get(segmentKey(position.channel, position.accountType));
  const candidates = [
    ...(own === undefined ? [] : [{ curve: own, segment: { channel: position.channel, accountType: position.accountType } }]),
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
