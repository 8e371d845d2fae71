import type pg from 'pg';
import { missingRoleWarning, roleStage, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { filteredDevelopersSql, stageRowsSql, type DeveloperFilter } from './metrics-query.ts';

/** Days after signup at which the funnel reference model reads the production deployment rate (docs/concepts/funnel.md). */
export const HORIZONS = [30, 60, 90] as const;

export interface HorizonFigures {
  /** Developers of the cohort who reached the production stage no later than the horizon after their signup. */
  reached: number;
  rate: number;
}

export interface ProductionCohort {
  cohort: string;
  developers: number;
  /** null: the cohort is not old enough (its last signup + the horizon is after asOf), or the funnel names no production stage. */
  d30: HorizonFigures | null;
  d60: HorizonFigures | null;
  d90: HorizonFigures | null;
}

export interface ProductionReport {
  asOf: string;
  /** The stage measured to: the funnel's `production`; null when it names none (every horizon null, and `warnings` says so). */
  stage: { id: string; label: string } | null;
  warnings: string[];
  cohorts: ProductionCohort[];
}

interface Row {
  cohort: string;
  developers: string;
  last_signup: Date;
  d30: string;
  d60: string;
  d90: string;
}

/** Production deployment rate (the stage whose role is `production`) at 30, 60 and 90 days after signup, per ISO signup week. */
export async function productionRate(pool: pg.Pool, filter: DeveloperFilter, { version: funnelVersion, document }: FunnelVersion): Promise<ProductionReport> {
  const stage = roleStage(document, 'production');
  const params: unknown[] = [];
  const developers = filteredDevelopersSql(filter, params);
  const production = `$${params.push(stage?.id ?? null)}::text`;
  const within = (days: number) => `count(*) FILTER (WHERE p.reached_at <= devs.signed_up_at + interval '${days} days') AS d${days}`;
  const { rows } = await pool.query<Row>(
    `WITH devs AS (${developers})
     SELECT devs.cohort, count(*) AS developers, max(devs.signed_up_at) AS last_signup, ${HORIZONS.map(within).join(', ')}
       FROM devs
       LEFT JOIN journey_stages p ON p.developer_id = devs.id AND p.stage = ${production} AND ${stageRowsSql('p', funnelVersion)}
      GROUP BY devs.cohort
      ORDER BY devs.cohort`,
    params,
  );
  const asOf = filter.asOf.getTime();
  return {
    asOf: filter.asOf.toISOString(),
    stage,
    warnings: stage ? [] : [missingRoleWarning('production')],
    cohorts: rows.map((row) => {
      const total = Number(row.developers);
      const horizon = (days: 30 | 60 | 90): HorizonFigures | null => {
        if (!stage || row.last_signup.getTime() + days * 86_400_000 > asOf) return null;
        const reached = Number(row[`d${days}`]);
        return { reached, rate: reached / total };
      };
      return { cohort: row.cohort, developers: total, d30: horizon(30), d60: horizon(60), d90: horizon(90) };
    }),
  };
}
