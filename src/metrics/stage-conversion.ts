import type pg from 'pg';
import { z } from 'zod';
import { stageIds, stageLabel, stageSummaries, unknownStageProblem, type FunnelVersion, type StageRole } from '../funnel/funnel-in-force.ts';
import type { FunnelDocument } from '../funnel/funnel-schema.ts';
import { stageRank } from '../journey/stages.ts';
import { BANDS, MIN_BANDED_ELIGIBLE, REFERENCE_BANDS, bandOf, bandStatusOf, type Band, type BandStatus } from './conversion-bands.ts';
import { unitCount, type CountingUnit, type DeveloperFilter, type UnitCount } from './metrics-query.ts';
import { cohortOfWeek, daysMs, queryCountedUnits } from './progress-query.ts';

/** A stage-to-stage conversion to measure: `from` → `to` within `windowDays` of reaching `from`. */
export interface TransitionSpec {
  from: string;
  to: string;
  windowDays: number;
}

/** The window of each pair of consecutive stages measured by default in a funnel without the benchmarked stages. */
export const CONSECUTIVE_WINDOW_DAYS = 30;

/**
 * The transitions measured when none are asked for: the benchmarked ones
 * (docs/concepts/funnel.md#benchmark-bands) when the funnel holds every benchmarked pair in order
 * (the shipped funnel, or one that adds stages to it); otherwise each pair of consecutive stages,
 * within CONSECUTIVE_WINDOW_DAYS.
 */
export function defaultTransitions(document: FunnelDocument): TransitionSpec[] {
  const inOrder = (t: TransitionSpec) => stageRank(stageIds(document), t.from) >= 0 && stageRank(stageIds(document), t.to) > stageRank(stageIds(document), t.from);
  if (REFERENCE_BANDS.every(inOrder)) return REFERENCE_BANDS.map(({ from, to, windowDays }) => ({ from, to, windowDays }));
  const ids = stageIds(document);
  return ids.slice(1).map((to, i) => ({ from: ids[i]!, to, windowDays: CONSECUTIVE_WINDOW_DAYS }));
}

const MAX_TRANSITIONS = 12;
const MAX_WINDOW_DAYS = 365;

const DAYS_1_TO_365 = '(?:[1-9]|[1-9]\\d|[12]\\d\\d|3[0-5]\\d|36[0-5])';
/** A stage id, as funnel-schema.ts's `stageId` allows it: which ids exist is the funnel in force's to say, at request time. */
const STAGE_ID = '[a-z][a-z0-9_]{0,63}';
const ONE_TRANSITION = `\\s*${STAGE_ID}:${STAGE_ID}:${DAYS_1_TO_365}d\\s*`;
/** The whole grammar as one regular expression, so that the OpenAPI document says exactly what is accepted. */
export const TRANSITIONS_PATTERN = new RegExp(`^${ONE_TRANSITION}(?:,${ONE_TRANSITION}){0,${MAX_TRANSITIONS - 1}}$`);

/**
 * `from:to:<n>d[,…]`, e.g. `account_created:first_api_call:7d,first_api_call:production_deployment:60d`:
 * the grammar (windows are 1–365 whole days). Whether the stages exist, and `to` comes after `from`,
 * depends on the funnel in force: `funnelTransitionsProblem`.
 */
export const transitionsParam = z
  .string()
  .meta({ pattern: TRANSITIONS_PATTERN.source })
  .transform((value, ctx): TransitionSpec[] => {
    const specs: TransitionSpec[] = [];
    const parts = value.split(',');
    if (parts.length > MAX_TRANSITIONS) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_TRANSITIONS} transitions` });
      return z.NEVER;
    }
    for (const [index, part] of parts.entries()) {
      const fields = part.trim().split(':');
      const problem = (message: string) => {
        ctx.addIssue({ code: 'custom', message: `transition ${index + 1} ("${part}"): ${message}` });
        return z.NEVER;
      };
      if (fields.length !== 3) return problem('must be from:to:<days>d, e.g. account_created:first_api_call:7d');
      const [from, to, window] = fields as [string, string, string];
      const days = /^(\d{1,3})d$/.exec(window)?.[1];
      if (days === undefined || Number(days) < 1 || Number(days) > MAX_WINDOW_DAYS) return problem(`window "${window}" must be whole days, 1d to ${MAX_WINDOW_DAYS}d`);
      specs.push({ from, to, windowDays: Number(days) });
    }
    if (!TRANSITIONS_PATTERN.test(value)) {
      ctx.addIssue({ code: 'custom', message: 'must be from:to:<days>d, comma-separated, with stage ids in snake_case, e.g. account_created:first_api_call:7d' });
      return z.NEVER;
    }
    return specs;
  });

/** What is wrong with transitions for this funnel (an unknown stage, `to` not after `from`), naming the transition; undefined when nothing is. */
export function funnelTransitionsProblem(transitions: readonly TransitionSpec[], document: FunnelDocument): string | undefined {
  for (const [index, t] of transitions.entries()) {
    const problem = (message: string) => `transition ${index + 1} ("${t.from}:${t.to}:${t.windowDays}d"): ${message}`;
    const unknown = unknownStageProblem(document, t.from) ?? unknownStageProblem(document, t.to);
    if (unknown !== undefined) return problem(unknown);
    if (stageRank(stageIds(document), t.to) <= stageRank(stageIds(document), t.from)) return problem(`"${t.to}" must come after "${t.from}" in the funnel`);
  }
  return undefined;
}

export interface TransitionFigures extends TransitionSpec {
  /** Reached `from` as of asOf, less the excluded: the denominator. */
  eligible: number;
  /** Of the eligible: reached `to` or any later stage no later than `windowDays` after reaching `from`. */
  converted: number;
  /** converted / eligible; null when no one is eligible. */
  rate: number | null;
  /** Reached `from`, not converted, and the window had not elapsed at asOf: left out of the denominator. */
  excluded: number;
  /** Null unless `bandStatus` is `banded`: no benchmark, no rate, or too few eligible to place it. */
  band: Band | null;
  bandStatus: BandStatus;
  /** The lowest band of the set (ties: the lowest rate); only banded transitions compete. */
  weakest: boolean;
}

/** How far the counted units got: the funnel as a whole, stage by stage. */
export interface StageReach {
  stage: string;
  label: string;
  /** Reached this stage or a later one (in the funnel's order) by asOf: skipping a stage does not drop out of it. */
  reached: number;
  /** Reached the previous stage (or later) but not this one: the drop-off into it; 0 for the first stage. */
  dropped: number;
  /** reached / the previous stage's reached; null for the first stage or when the previous is 0. */
  fromPrevious: number | null;
  /** reached / the units counted; null when none are. */
  fromTop: number | null;
}

export interface ConversionReport {
  asOf: string;
  unit: CountingUnit;
  /** The units counted (signed up within the filters by asOf): the top of the funnel. */
  counted: number;
  /** The fewest eligible a transition needs for a band (MIN_BANDED_ELIGIBLE). */
  bandMinimumEligible: number;
  /** Every stage of the funnel in force, in order. */
  reach: StageReach[];
  /** The funnel the transitions were read in: its version and its stages, as people see them. */
  funnel: { version: number; stages: { id: string; label: string; role: StageRole | null }[] };
  overall: TransitionFigures[];
  cohorts: ({ cohort: string; transitions: TransitionFigures[]; reach: StageReach[] } & UnitCount)[];
}

/** What one transition made of a unit: not at `from` yet, converted, eligible without converting, or left out (its window still open). */
const NOT_AT_FROM = 0;
const CONVERTED = 1;
const NOT_CONVERTED = 2;
const WINDOW_OPEN = 3;
/** Each transition's class takes two bits of a unit's `classes`: transition i (0-based) is `(classes >> 2i) & 3`. 12 transitions fit an int. */
const CLASS_BITS = 2;

/** One group of units alike: the same cohort, the furthest stage reached (its rank; -1 for none) and every transition's class. */
type GroupRow = { week: number; furthest: number; classes: number; units: string };

/** The counts of one set of units (the whole, or a cohort), summed from its groups. */
interface Tally {
  units: number;
  /** Per rank: the units whose furthest stage is at that rank or later. */
  reached: number[];
  /** Per transition: [not at from, converted, not converted, window open]. */
  classes: number[][];
}

/**
 * Conversion per transition, overall and per signup cohort, in one pass over the counted units
 * (progress-query.ts: each unit's stage instants as of asOf, a developer's or an account's
 * members' earliest, as columns `r0`, `r1`, … by rank in the funnel), each row classified once:
 * the furthest stage reached, and per transition whether the unit converted. A unit converts when
 * the first moment they stood at `to` or beyond (the earliest instant among `to` and the later
 * stages, so skipping `to` still counts) is no more than the window after reaching `from`. A later
 * stage reached before `from` (a late-filled `from`) converts too: the developer was already past
 * it. PostgreSQL counts the units alike (a few hundred groups) and the sums are made here, rather
 * than three counts per transition and one per stage over every row (bench/RESULTS.md).
 * The transitions must be the funnel's (`funnelTransitionsProblem`).
 */
export async function stageConversion(
  pool: pg.Pool,
  filter: DeveloperFilter,
  unit: CountingUnit,
  funnel: FunnelVersion,
  transitions: readonly TransitionSpec[],
): Promise<ConversionReport> {
  const { document } = funnel;
  const ids = stageIds(document);
  // Each unit's stage instants as columns by rank (r0, r1, …), so that its row is classified by a few integer expressions.
  const stages = Object.fromEntries(ids.map((id, rank) => [`r${rank}`, id]));
  const furthest = `CASE ${ids.map((_, rank) => `WHEN r${ids.length - 1 - rank} IS NOT NULL THEN ${ids.length - 1 - rank}`).join(' ')} ELSE -1 END`;
  const classOf = (t: TransitionSpec) => {
    const from = `r${stageRank(ids, t.from)}`;
    const window = `${from} + ${daysMs(t.windowDays)}`;
    const toRank = stageRank(ids, t.to);
    const later = ids.slice(toRank).map((_, i) => `r${toRank + i}`);
    const toAt = later.length === 1 ? later[0]! : `LEAST(${later.join(', ')})`;
    return `CASE WHEN ${from} IS NULL THEN ${NOT_AT_FROM} WHEN ${toAt} <= ${window} THEN ${CONVERTED} WHEN ${window} <= $1 THEN ${NOT_CONVERTED} ELSE ${WINDOW_OPEN} END`;
  };
  // Parenthesised whole: PostgreSQL gives << and | the same precedence, left to right.
  const classes = transitions.map((t, i) => `((${classOf(t)}) << ${CLASS_BITS * i})`).join(' | ') || '0';
  const rows = await queryCountedUnits<GroupRow>(
    pool,
    filter,
    unit,
    funnel.version,
    stages,
    (units) => `WITH units AS (${units}),
                     classified AS (SELECT week, ${furthest} AS furthest, ${classes} AS classes FROM units)
                SELECT week, furthest, classes, count(*) AS units
                  FROM classified
                 GROUP BY week, furthest, classes`,
  );

  const tally = (): Tally => ({ units: 0, reached: ids.map(() => 0), classes: transitions.map(() => [0, 0, 0, 0]) });
  const overall = tally();
  const byCohort = new Map<string, Tally>();
  for (const row of rows) {
    const units = Number(row.units);
    const cohort = cohortOfWeek(row.week);
    if (!byCohort.has(cohort)) byCohort.set(cohort, tally());
    for (const t of [overall, byCohort.get(cohort)!]) {
      t.units += units;
      for (let rank = 0; rank <= row.furthest; rank++) t.reached[rank]! += units;
      transitions.forEach((_, i) => (t.classes[i]![(row.classes >> (CLASS_BITS * i)) & 3]! += units));
    }
  }

  const build = (t: Tally) =>
    flagWeakest(
      transitions.map((spec, i) => {
        const counts = t.classes[i]!;
        const converted = counts[CONVERTED]!;
        const eligible = converted + counts[NOT_CONVERTED]!;
        const rate = eligible === 0 ? null : converted / eligible;
        const bandStatus = bandStatusOf(spec, rate, eligible);
        return { ...spec, eligible, converted, rate, excluded: counts[WINDOW_OPEN]!, band: bandStatus === 'banded' ? bandOf(spec, rate) : null, bandStatus, weakest: false };
      }),
    );
  const reach = (t: Tally): StageReach[] =>
    ids.map((id, rank) => {
      const previous = rank === 0 ? null : t.reached[rank - 1]!;
      return {
        stage: id,
        label: stageLabel(document, id),
        reached: t.reached[rank]!,
        dropped: previous === null ? 0 : previous - t.reached[rank]!,
        fromPrevious: previous === null || previous === 0 ? null : t.reached[rank]! / previous,
        fromTop: t.units === 0 ? null : t.reached[rank]! / t.units,
      };
    });

  return {
    asOf: filter.asOf.toISOString(),
    unit,
    funnel: { version: funnel.version, stages: stageSummaries(document) },
    counted: overall.units,
    bandMinimumEligible: MIN_BANDED_ELIGIBLE,
    reach: reach(overall),
    overall: build(overall),
    cohorts: [...byCohort].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([cohort, t]) => ({ cohort, ...unitCount(unit, t.units), transitions: build(t), reach: reach(t) })),
  };
}

/** Marks the transition in the lowest band (ties: the lowest rate; then the first). */
function flagWeakest(figures: TransitionFigures[]): TransitionFigures[] {
  let weakest: TransitionFigures | undefined;
  for (const f of figures) {
    if (f.band === null || f.rate === null) continue;
    if (!weakest || BANDS.indexOf(f.band) > BANDS.indexOf(weakest.band!) || (f.band === weakest.band && f.rate < weakest.rate!)) weakest = f;
  }
  if (weakest) weakest.weakest = true;
  return figures;
}
