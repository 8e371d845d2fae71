import type pg from 'pg';
import { missingRoleWarning, roleStage, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { unitCount, type CountingUnit, type DeveloperFilter, type UnitCount } from './metrics-query.ts';
import { cohortOfWeek, queryCountedUnits } from './progress-query.ts';

/** A cohort's tail rose when p75 or p90 grew by more than this fraction over the previous cohort … */
export const TAIL_RISE = 0.2;
/** … while its median moved by no more than this fraction of the previous cohort's. */
export const MEDIAN_STABLE = 0.1;

export interface Percentiles {
  p25: number;
  p50: number;
  p75: number;
  p90: number;
}

/** `developers` (or `accounts`): who signed up (in the cohort, matching the filters, as of asOf). */
export type TtfacFigures = UnitCount & {
  /** Of them, those who reached the first-call stage as of asOf. */
  reached: number;
  /** Seconds (to the millisecond) from signup to the first-call stage over the `reached`; null when none. */
  percentiles: Percentiles | null;
};

export type TtfacCohort = TtfacFigures & {
  cohort: string;
  /** The "rising tail, stable median" (docs/concepts/funnel.md#time-to-first-call) against the previous cohort with percentiles. */
  risingTail: boolean;
};

export interface TtfacReport {
  asOf: string;
  unit: CountingUnit;
  /** The stage measured to: the funnel's `first_call`; null when it names none (nothing is reached, and `warnings` says so). */
  stage: { id: string; label: string } | null;
  warnings: string[];
  overall: TtfacFigures;
  cohorts: TtfacCohort[];
}

interface Row {
  /** null: the overall row. */
  week: number | null;
  /** Null on the percentiles' rows. */
  units: string | null;
  reached: string | null;
  p: number[] | null;
}

/**
 * Time to first API call: from the signup (account_created in the shipped funnel) to the stage
 * whose role is `first_call`, percentiles by `percentile_cont` (linear interpolation between
 * closest ranks), per ISO signup week and overall. Per account: from its first signup to its
 * members' earliest first call.
 */
export async function timeToFirstCall(pool: pg.Pool, filter: DeveloperFilter, unit: CountingUnit, { version: funnelVersion, document }: FunnelVersion): Promise<TtfacReport> {
  const stage = roleStage(document, 'first_call');
  // Without the stage, no unit has an instant for it: every unit counts, none reached. The counts
  // are hashed by week over every unit, the percentiles sort only those who reached the stage.
  const rows = await queryCountedUnits<Row>(
    pool,
    filter,
    unit,
    funnelVersion,
    { first_call: stage?.id ?? null },
    (units) => `WITH units AS NOT MATERIALIZED (${units}),
                     per AS NOT MATERIALIZED (SELECT week, (first_call - signup)::float8 / 1000 AS seconds FROM units)
                SELECT week, count(*) AS units, count(seconds) AS reached, NULL::float8[] AS p FROM per GROUP BY GROUPING SETS ((week), ())
                UNION ALL
                SELECT week, NULL, NULL, percentile_cont(ARRAY[0.25, 0.5, 0.75, 0.9]::float8[]) WITHIN GROUP (ORDER BY seconds)
                  FROM per WHERE seconds IS NOT NULL GROUP BY GROUPING SETS ((week), ())`,
  );
  // One row per week (null: overall) from the counts and the percentiles' rows.
  const byWeek = new Map<number | null, Row>();
  for (const row of rows) {
    const known = byWeek.get(row.week);
    byWeek.set(row.week, known ? { week: row.week, units: known.units ?? row.units, reached: known.reached ?? row.reached, p: known.p ?? row.p } : row);
  }
  const weeks = [...byWeek.keys()].filter((w): w is number => w !== null).sort((a, b) => a - b);

  const figures = (row: Row | undefined): TtfacFigures => {
    const reached = Number(row?.reached ?? 0);
    const p = row?.p;
    return {
      ...unitCount(unit, Number(row?.units ?? 0)),
      reached,
      percentiles: reached > 0 && p ? { p25: toMs(p[0]!), p50: toMs(p[1]!), p75: toMs(p[2]!), p90: toMs(p[3]!) } : null,
    };
  };

  const cohorts: TtfacCohort[] = [];
  let previous: Percentiles | null = null;
  for (const week of weeks) {
    const own = figures(byWeek.get(week));
    cohorts.push({ cohort: cohortOfWeek(week), ...own, risingTail: risingTail(previous, own.percentiles) });
    if (own.percentiles) previous = own.percentiles;
  }
  return {
    asOf: filter.asOf.toISOString(),
    unit,
    stage,
    warnings: stage ? [] : [missingRoleWarning('first_call')],
    overall: figures(byWeek.get(null)),
    cohorts,
  };
}

/** Seconds to the millisecond (the precision of the timestamps): no float noise from the interpolation. */
const toMs = (seconds: number) => Math.round(seconds * 1000) / 1000;

/** p75 or p90 up by more than TAIL_RISE while p50 stayed within ±MEDIAN_STABLE of the previous cohort's. */
export function risingTail(previous: Percentiles | null, current: Percentiles | null): boolean {
  if (!previous || !current) return false;
  const rose = (now: number, before: number) => now > before * (1 + TAIL_RISE);
  const medianStable = Math.abs(current.p50 - previous.p50) <= MEDIAN_STABLE * previous.p50;
  return medianStable && (rose(current.p75, previous.p75) || rose(current.p90, previous.p90));
}
