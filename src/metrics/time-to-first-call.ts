import type pg from 'pg';
import { missingRoleWarning, roleStage, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { unitCount, type CountingUnit, type DeveloperFilter, type UnitCount } from './metrics-query.ts';
import { cohortOfWeek, countedUnitsSql, readStageSlots, signupWeekOfMsSql } from './progress-query.ts';

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
  units: string;
  reached: string;
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
  const params: unknown[] = [];
  // Without the stage, no unit has an instant for it: every unit counts, none reached.
  const units = countedUnitsSql(filter, unit, funnelVersion, await readStageSlots(pool, funnelVersion), { first_call: stage?.id ?? null }, params);
  const { rows } = await pool.query<Row>(
    `WITH units AS (${units}),
          per AS (SELECT ${signupWeekOfMsSql('signup')} AS week, (first_call - signup)::float8 / 1000 AS seconds FROM units)
     SELECT week, count(*) AS units, count(seconds) AS reached,
            percentile_cont(ARRAY[0.25, 0.5, 0.75, 0.9]::float8[]) WITHIN GROUP (ORDER BY seconds) AS p
       FROM per
      GROUP BY GROUPING SETS ((week), ())
      ORDER BY week NULLS FIRST`,
    params,
  );

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
  for (const row of rows) {
    if (row.week === null) continue;
    const own = figures(row);
    cohorts.push({ cohort: cohortOfWeek(row.week), ...own, risingTail: risingTail(previous, own.percentiles) });
    if (own.percentiles) previous = own.percentiles;
  }
  return {
    asOf: filter.asOf.toISOString(),
    unit,
    stage,
    warnings: stage ? [] : [missingRoleWarning('first_call')],
    overall: figures(rows.find((r) => r.week === null)),
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
