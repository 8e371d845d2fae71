import type pg from 'pg';
import { missingRoleWarning, roleStage, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { unitCount, type CountingUnit, type DeveloperFilter, type UnitCount } from './metrics-query.ts';
import { cohortOfWeek, daysMs, queryCountedUnits } from './progress-query.ts';

/** Days after signup at which the funnel reference model reads the production deployment rate (docs/concepts/funnel.md). */
export const HORIZONS = [30, 60, 90] as const;

export interface HorizonFigures {
  /** Units (developers or accounts) of the cohort who reached the production stage no later than the horizon after their signup. */
  reached: number;
  rate: number;
}

/** `developers` (or `accounts`): the cohort's size. */
export type ProductionCohort = UnitCount & {
  cohort: string;
  /** null: the cohort is not old enough (its last signup + the horizon is after asOf), or the funnel names no production stage. */
  d30: HorizonFigures | null;
  d60: HorizonFigures | null;
  d90: HorizonFigures | null;
};

export interface ProductionReport {
  asOf: string;
  unit: CountingUnit;
  /** The stage measured to: the funnel's `production`; null when it names none (every horizon null, and `warnings` says so). */
  stage: { id: string; label: string } | null;
  warnings: string[];
  cohorts: ProductionCohort[];
}

interface Row {
  week: number;
  units: string;
  /** ms since the epoch (a bigint, as text). */
  last_signup: string;
  d30: string;
  d60: string;
  d90: string;
}

/**
 * Production deployment rate (the stage whose role is `production`) at 30, 60 and 90 days after
 * signup, per ISO signup week. Per account: its members' earliest production, after its first signup.
 */
export async function productionRate(pool: pg.Pool, filter: DeveloperFilter, unit: CountingUnit, { version: funnelVersion, document }: FunnelVersion): Promise<ProductionReport> {
  const stage = roleStage(document, 'production');
  const within = (days: number) => `count(*) FILTER (WHERE production_at <= signup + ${daysMs(days)}) AS d${days}`;
  const rows = await queryCountedUnits<Row>(
    pool,
    filter,
    unit,
    funnelVersion,
    { production_at: stage?.id ?? null },
    (units) => `WITH units AS (${units})
                SELECT week, count(*) AS units, max(signup) AS last_signup, ${HORIZONS.map(within).join(', ')}
                  FROM units
                 GROUP BY week
                 ORDER BY week`,
  );
  const asOf = filter.asOf.getTime();
  return {
    asOf: filter.asOf.toISOString(),
    unit,
    stage,
    warnings: stage ? [] : [missingRoleWarning('production')],
    cohorts: rows.map((row) => {
      const total = Number(row.units);
      const horizon = (days: 30 | 60 | 90): HorizonFigures | null => {
        if (!stage || Number(row.last_signup) + daysMs(days) > asOf) return null;
        const reached = Number(row[`d${days}`]);
        return { reached, rate: reached / total };
      };
      return { cohort: cohortOfWeek(row.week), ...unitCount(unit, total), d30: horizon(30), d60: horizon(60), d90: horizon(90) };
    }),
  };
}
