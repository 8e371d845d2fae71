import type pg from 'pg';
import { missingRoleWarning, stageWithRole, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import type { DeveloperFilter } from './metrics-query.ts';
import { cohortOfWeek, daysMs, queryCountedUnits } from './progress-query.ts';

/** The funnel reference model's depth buckets (docs/concepts/funnel.md): the quickstart endpoint only, one more, exploring on their own. */
export const DEPTH_BUCKETS = ['1', '2', '3+'] as const;
export type DepthBucket = (typeof DEPTH_BUCKETS)[number];

export interface DepthBucketFigures {
  bucket: DepthBucket;
  developers: number;
  /** Of them, those who reached the production stage as of asOf (at any time); rate null without one. */
  production: { reached: number; rate: number | null };
}

export interface DepthFigures {
  /** Developers whose first 24 h after the first-call stage had elapsed at asOf: the ones counted below. */
  developers: number;
  /** Reached the first-call stage less than 24 h before asOf: their first session is not over, left out. */
  excluded: number;
  buckets: DepthBucketFigures[];
  /** Developers by the number of distinct endpoints, ascending (0 only when the requests behind a first call are missing). */
  distribution: { endpoints: number; developers: number }[];
}

export interface DepthReport {
  asOf: string;
  /** Set when the funnel names no first_call stage (nothing to count) or no production stage (no production rate). */
  warnings: string[];
  overall: DepthFigures;
  cohorts: ({ cohort: string } & DepthFigures)[];
}

interface Row {
  week: number | null;
  endpoints: number | null;
  developers: string;
  production: string;
  excluded: string;
}

/**
 * First-session API depth (funnel metric 4, docs/concepts/funnel.md), per ISO signup week and overall: the distinct
 * endpoints a developer called successfully (2xx `api.request`) from reaching the `first_call`
 * stage to 24 h after it (both ends included, as the active-integration proof counts them; requests
 * counted into the rollups too), and the rate of reaching the `production` stage by bucket (1, 2, 3+). Developers whose 24 h had not
 * elapsed at asOf are `excluded`.
 */
export async function endpointDepth(pool: pg.Pool, filter: DeveloperFilter, { version: funnelVersion, document }: FunnelVersion): Promise<DepthReport> {
  const firstCallStage = stageWithRole(document, 'first_call');
  const productionStage = stageWithRole(document, 'production');
  // The first-call instant and production from the row per developer (progress-query.ts); the
  // instant as a timestamp once per developer, for the per-endpoint totals' own.
  const rows = await queryCountedUnits<Row>(
    pool,
    filter,
    'developer',
    funnelVersion,
    { first_ms: firstCallStage ?? null, production_ms: productionStage ?? null },
    (units) => `WITH firsts AS (
            SELECT u.id, u.week, timestamptz 'epoch' + u.first_ms * interval '1 millisecond' AS first_at, u.first_ms + ${daysMs(1)} > $1 AS open,
                   u.production_ms IS NOT NULL AS production
              FROM (${units}) u WHERE u.first_ms IS NOT NULL
          ),
          -- An endpoint's first 2xx ever (the per-endpoint totals) within the 24 h is one of them; one
          -- whose first 2xx came before the stage counts if it answered 2xx again in them (the raw
          -- rows, rare). No request stream is scanned, however much traffic followed. The raw check
          -- sits in the count, not the join, so that its cost does not make the join a nested loop.
          depths AS (
            SELECT f.id, count(*) FILTER (WHERE de.first_ok_at >= f.first_at
                                 OR EXISTS (SELECT 1 FROM events e WHERE e.developer_id = f.id AND e.endpoint = de.endpoint AND e.type = 'api.request'
                                              AND e.status BETWEEN 200 AND 299 AND e.occurred_at BETWEEN f.first_at AND f.first_at + interval '24 hours'))::int AS endpoints
              FROM firsts f
              JOIN developer_endpoints de ON de.developer_id = f.id AND de.first_ok_at <= f.first_at + interval '24 hours'
             WHERE NOT f.open
             GROUP BY f.id),
          counted AS (
            SELECT f.week, CASE WHEN f.open THEN NULL ELSE coalesce(d.endpoints, 0) END AS endpoints, f.open, f.production
              FROM firsts f LEFT JOIN depths d ON d.id = f.id
          )
     SELECT week, endpoints,
            count(*) FILTER (WHERE NOT open) AS developers,
            count(*) FILTER (WHERE NOT open AND production) AS production,
            count(*) FILTER (WHERE open) AS excluded
       FROM counted
      GROUP BY GROUPING SETS ((week, endpoints), (endpoints))
      ORDER BY week NULLS FIRST, endpoints NULLS FIRST`,
  );

  const figures = (group: Row[]): DepthFigures => {
    const counted = group.filter((r) => r.endpoints !== null);
    const bucketOf = (n: number): DepthBucket | undefined => (n >= 3 ? '3+' : n === 2 ? '2' : n === 1 ? '1' : undefined);
    const buckets = DEPTH_BUCKETS.map((bucket): DepthBucketFigures => {
      const inBucket = counted.filter((r) => bucketOf(r.endpoints!) === bucket);
      const total = inBucket.reduce((sum, r) => sum + Number(r.developers), 0);
      const reached = inBucket.reduce((sum, r) => sum + Number(r.production), 0);
      return { bucket, developers: total, production: { reached, rate: total === 0 || productionStage === undefined ? null : reached / total } };
    });
    return {
      developers: counted.reduce((sum, r) => sum + Number(r.developers), 0),
      excluded: group.reduce((sum, r) => sum + Number(r.excluded), 0),
      buckets,
      distribution: counted.map((r) => ({ endpoints: r.endpoints!, developers: Number(r.developers) })),
    };
  };

  const weeks = [...new Set(rows.filter((r) => r.week !== null).map((r) => r.week!))];
  return {
    asOf: filter.asOf.toISOString(),
    warnings: [...(firstCallStage ? [] : [missingRoleWarning('first_call')]), ...(productionStage ? [] : [missingRoleWarning('production')])],
    overall: figures(rows.filter((r) => r.week === null)),
    cohorts: weeks.map((week) => ({ cohort: cohortOfWeek(week), ...figures(rows.filter((r) => r.week === week)) })),
  };
}
