import type pg from 'pg';
import { z } from 'zod';
import { stageIds, stageLabel, stageSummaries, unknownStageProblem, type FunnelVersion, type StageRole } from '../funnel/funnel-in-force.ts';
import type { FunnelDocument } from '../funnel/funnel-schema.ts';
import { stageRank } from '../journey/stages.ts';
import { BANDS, MIN_BANDED_ELIGIBLE, REFERENCE_BANDS, bandOf, bandStatusOf, type Band, type BandStatus } from './conversion-bands.ts';
import { countedMembersSql, stageRowsSql, unitCount, type CountingUnit, type DeveloperFilter, type UnitCount } from './metrics-query.ts';

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

/** Per transition i (1-based): `eligible_i`, `converted_i`, `excluded_i`; counts come back as strings. */
type Row = { cohort: string | null; units: string } & Record<string, string | null>;

/**
 * Conversion per transition, overall and per signup cohort, in one pass: each unit's stage times
 * as of asOf (a developer's, or an account's: its members' earliest) become one row (`s0`, `s1`, …
 * by rank in the funnel), then every transition is a few expressions over it. A unit converts when the first moment they stood at `to` or beyond
 * (the earliest `reached_at` among `to` and the later stages, so skipping `to` still counts) is no
 * more than the window after `from`'s `reached_at`. A later stage reached before `from` (a
 * late-filled `from`) converts too: the developer was already past it. The transitions must be
 * the funnel's (`funnelTransitionsProblem`).
 */
export async function stageConversion(
  pool: pg.Pool,
  filter: DeveloperFilter,
  unit: CountingUnit,
  funnel: FunnelVersion,
  transitions: readonly TransitionSpec[],
): Promise<ConversionReport> {
  const { document } = funnel;
  const params: unknown[] = [];
  const members = countedMembersSql(filter, unit, params);
  // Stage ids are parameters; the SQL names columns by rank and inlines windows (integers), which
  // keeps the plan one hash join and one aggregate.
  const ids = stageIds(document);
  const stageColumns = ids.map((id, rank) => `min(s.reached_at) FILTER (WHERE s.stage = $${params.push(id)}) AS s${rank}`).join(',\n                   ');
  const perTransition = transitions.map((t, i) => {
    const from = `s${stageRank(stageIds(document), t.from)}`;
    const window = `${from} + interval '${Math.trunc(t.windowDays)} days'`;
    const toRank = stageRank(stageIds(document), t.to);
    const later = ids.slice(toRank).map((_, i) => `s${toRank + i}`);
    const toAt = later.length === 1 ? later[0]! : `LEAST(${later.join(', ')})`;
    const converted = `(${toAt} <= ${window})`;
    const n = i + 1;
    return [
      `count(*) FILTER (WHERE ${from} IS NOT NULL AND ${converted}) AS converted_${n}`,
      `count(*) FILTER (WHERE ${from} IS NOT NULL AND (${converted} OR ${window} <= $1)) AS eligible_${n}`,
      `count(*) FILTER (WHERE ${from} IS NOT NULL AND NOT coalesce(${converted}, false) AND ${window} > $1) AS excluded_${n}`,
    ].join(',\n            ');
  });
  // Reached a stage or any later one: its column or a later one is set.
  const perStage = ids.map(
    (_, rank) =>
      `count(*) FILTER (WHERE num_nonnulls(${ids
        .slice(rank)
        .map((__, i) => `s${rank + i}`)
        .join(', ')}) > 0) AS reached_s${rank}`,
  );
  const { rows } = await pool.query<Row>(
    `WITH members AS (${members}),
          per AS (
            SELECT members.unit, members.cohort,
                   ${stageColumns}
              FROM members
              LEFT JOIN journey_stages s ON s.developer_id = members.id AND ${stageRowsSql('s', funnel.version)}
             GROUP BY members.unit, members.cohort
          )
     SELECT cohort, count(*) AS units,
            ${[...perStage, ...perTransition].join(',\n            ')}
       FROM per
      GROUP BY GROUPING SETS ((cohort), ())
      ORDER BY cohort NULLS FIRST`,
    params,
  );

  const build = (row: Row | undefined) =>
    flagWeakest(
      transitions.map((spec, i) => {
        const count = (what: string) => Number(row?.[`${what}_${i + 1}`] ?? 0);
        const eligible = count('eligible');
        const converted = count('converted');
        const rate = eligible === 0 ? null : converted / eligible;
        const bandStatus = bandStatusOf(spec, rate, eligible);
        return { ...spec, eligible, converted, rate, excluded: count('excluded'), band: bandStatus === 'banded' ? bandOf(spec, rate) : null, bandStatus, weakest: false };
      }),
    );
  const reach = (row: Row | undefined): StageReach[] => {
    const units = Number(row?.units ?? 0);
    const counts = ids.map((_, rank) => Number(row?.[`reached_s${rank}`] ?? 0));
    return ids.map((id, rank) => {
      const previous = rank === 0 ? null : counts[rank - 1]!;
      return {
        stage: id,
        label: stageLabel(document, id),
        reached: counts[rank]!,
        dropped: previous === null ? 0 : previous - counts[rank]!,
        fromPrevious: previous === null || previous === 0 ? null : counts[rank]! / previous,
        fromTop: units === 0 ? null : counts[rank]! / units,
      };
    });
  };
  const overall = rows.find((r) => r.cohort === null);

  return {
    asOf: filter.asOf.toISOString(),
    unit,
    funnel: { version: funnel.version, stages: stageSummaries(document) },
    counted: Number(overall?.units ?? 0),
    bandMinimumEligible: MIN_BANDED_ELIGIBLE,
    reach: reach(overall),
    overall: build(overall),
    cohorts: rows
      .filter((r) => r.cohort !== null)
      .map((row) => ({ cohort: row.cohort as string, ...unitCount(unit, Number(row.units)), transitions: build(row), reach: reach(row) })),
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
