import type pg from 'pg';
import { DIAGNOSIS, ERROR_CLASSES, type ErrorClass } from '../events/error-diagnosis.ts';
import { filteredDevelopersSql, type DeveloperFilter } from './metrics-query.ts';

/** Endpoints listed by default (`limit`). */
export const DEFAULT_ENDPOINT_LIMIT = 20;

export interface StatusFigures {
  status: ErrorClass;
  /** First-session requests answered with this status (5xx: any 500–599). */
  requests: number;
  /** requests / all first-session requests of the scope; null when there are none. */
  rate: number | null;
  /** The diagnosis (docs/concepts/funnel.md#first-session-error-diagnoses); null for 5xx (none). */
  diagnosis: string | null;
}

export interface ErrorFigures {
  /** First-session requests (any status) of the scope. */
  requests: number;
  /** Of them, answered with 4xx or 5xx. */
  errors: { requests: number; rate: number | null };
  statuses: StatusFigures[];
}

export interface ErrorsReport {
  asOf: string;
  overall: { developers: number } & ErrorFigures;
  cohorts: ({ cohort: string; developers: number } & ErrorFigures)[];
  /** Endpoints with at least one first-session error, most errors first (then the higher rate, then by name), at most `limit`. */
  endpoints: ({ endpoint: string; developers: number } & ErrorFigures)[];
}

type Row = { scope: 'overall' | 'cohort' | 'endpoint'; cohort: string | null; endpoint: string | null; developers: string; requests: string; errors: string } & Record<
  `s${ErrorClass}`,
  string
>;

/** Conditions on the request's `status` (prefixed with the `e.` alias). */
const classFilter: Record<ErrorClass, string> = { '401': 'status = 401', '400': 'status = 400', '429': 'status = 429', '5xx': 'status BETWEEN 500 AND 599' };

/**
 * First-session error rates (docs/concepts/funnel.md#first-session-error-diagnoses): a developer's first session is
 * the 24 h from their first `api.request` (any status) up to asOf, both ends included; every
 * request in it counts (a session still open at asOf counts as far as it goes). Rates are shares
 * of the scope's first-session requests: overall, per ISO signup week, and per endpoint.
 */
export async function firstSessionErrors(pool: pg.Pool, filter: DeveloperFilter, limit = DEFAULT_ENDPOINT_LIMIT): Promise<ErrorsReport> {
  const params: unknown[] = [];
  const developers = filteredDevelopersSql(filter, params);
  // One pass over the requests (the first request by a window over each developer's), summed per
  // developer and endpoint, then per developer: no DISTINCT, so developers per endpoint or cohort
  // are rows of those (0.65 s at 100,000 developers, against 1.7 s joining events twice). Only the
  // kept requests: every request of a first session is one (docs/concepts/storage.md), and the
  // months of later traffic are never read.
  const sums = ['requests', 'errors', ...ERROR_CLASSES.map((c) => `s${c}`)].map((c) => `sum("${c}") AS "${c}"`).join(', ');
  const perClass = ERROR_CLASSES.map((c) => `count(*) FILTER (WHERE e.${classFilter[c]}) AS "s${c}"`).join(', ');
  const { rows } = await pool.query<Row>(
    `WITH devs AS (${developers}),
          requests AS (
            SELECT devs.id, devs.cohort, e.endpoint, e.status, e.occurred_at, min(e.occurred_at) OVER (PARTITION BY devs.id) AS first_at
              FROM devs
              JOIN events e ON e.kept AND e.developer_id = devs.id AND e.type = 'api.request' AND e.occurred_at <= $1
          ),
          per_endpoint AS (
            SELECT id, cohort, endpoint, count(*) AS requests, count(*) FILTER (WHERE e.status >= 400) AS errors, ${perClass}
              FROM requests e
             WHERE e.occurred_at <= e.first_at + interval '24 hours'
             GROUP BY id, cohort, endpoint
          ),
          per_developer AS (SELECT id, cohort, ${sums} FROM per_endpoint GROUP BY id, cohort)
     SELECT 'endpoint' AS scope, NULL AS cohort, endpoint, count(*) AS developers, ${sums}
       FROM per_endpoint WHERE endpoint IS NOT NULL GROUP BY endpoint
     UNION ALL
     SELECT CASE WHEN GROUPING(cohort) = 0 THEN 'cohort' ELSE 'overall' END, cohort, NULL, count(*), ${sums}
       FROM per_developer GROUP BY GROUPING SETS ((cohort), ())`,
    params,
  );

  const figures = (row: Row | undefined): ErrorFigures => {
    const requests = Number(row?.requests ?? 0);
    const rate = (n: number) => (requests === 0 ? null : n / requests);
    const errors = Number(row?.errors ?? 0);
    return {
      requests,
      errors: { requests: errors, rate: rate(errors) },
      statuses: ERROR_CLASSES.map((status) => {
        const n = Number(row?.[`s${status}`] ?? 0);
        return { status, requests: n, rate: rate(n), diagnosis: DIAGNOSIS[status] };
      }),
    };
  };

  const overall = rows.find((r) => r.scope === 'overall');
  return {
    asOf: filter.asOf.toISOString(),
    overall: { developers: Number(overall?.developers ?? 0), ...figures(overall) },
    cohorts: rows
      .filter((r) => r.scope === 'cohort')
      .sort((a, b) => a.cohort!.localeCompare(b.cohort!))
      .map((row) => ({ cohort: row.cohort!, developers: Number(row.developers), ...figures(row) })),
    endpoints: rows
      .filter((r) => r.scope === 'endpoint' && r.endpoint !== null && Number(r.errors) > 0)
      .map((row) => ({ endpoint: row.endpoint!, developers: Number(row.developers), ...figures(row) }))
      .sort((a, b) => b.errors.requests - a.errors.requests || b.errors.rate! - a.errors.rate! || (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0))
      .slice(0, limit),
  };
}
