import type pg from 'pg';
import { filteredDevelopersSql, type DeveloperFilter } from './metrics-query.ts';

export interface Share {
  sdk: number;
  raw: number;
  /** sdk / (sdk + raw); null when both are 0. */
  sdkShare: number | null;
}

export interface SdkFigures {
  /** Developers with at least one api.request as of asOf: SDK when most of their requests came through an SDK, else raw HTTP. */
  developers: Share;
  /** Their api.request events as of asOf, by the `sdk` flag set at ingest from the user agent. */
  requests: Share;
}

export interface SdkReport {
  asOf: string;
  overall: SdkFigures;
  cohorts: ({ cohort: string } & SdkFigures)[];
}

interface Row {
  cohort: string | null;
  sdk_developers: string;
  raw_developers: string;
  sdk_requests: string;
  raw_requests: string;
}

const share = (sdk: number, raw: number): Share => ({ sdk, raw, sdkShare: sdk + raw === 0 ? null : sdk / (sdk + raw) });

/**
 * SDK vs raw HTTP (funnel metric 3, docs/concepts/funnel.md), per ISO signup week and overall. Requests: every
 * `api.request` of the filtered developers up to asOf, any status, by its `sdk` flag (a missing
 * flag is raw HTTP); a request counted into the daily rollups (docs/concepts/storage.md) counts
 * when its rollup had begun by asOf. Developers: those with at least one such request; SDK when their SDK requests
 * outnumber their raw ones (a strict majority: a tie is raw HTTP).
 */
export async function sdkShare(pool: pg.Pool, filter: DeveloperFilter): Promise<SdkReport> {
  const params: unknown[] = [];
  const developers = filteredDevelopersSql(filter, params);
  const { rows } = await pool.query<Row>(
    `WITH devs AS (${developers}),
          totals AS (
            SELECT de.developer_id, devs.cohort, sum(de.sdk_requests) AS sdk, sum(de.requests - de.sdk_requests) AS raw, max(de.last_at) AS last_at
              FROM devs JOIN developer_endpoints de ON de.developer_id = devs.id
             GROUP BY de.developer_id, devs.cohort
          ),
          -- A developer whose every request came by asOf (nearly all, as of now) is their totals;
          -- the others are counted up to asOf: their raw rows, and the rollups begun by then.
          per AS (
            SELECT cohort, sdk, raw FROM totals WHERE last_at <= $1
            UNION ALL
            SELECT t.cohort, r.sdk + coalesce(u.sdk, 0), r.raw + coalesce(u.raw, 0)
              FROM totals t,
              LATERAL (SELECT count(*) FILTER (WHERE e.sdk) AS sdk, count(*) FILTER (WHERE e.sdk IS NOT TRUE) AS raw
                         FROM events e WHERE e.developer_id = t.developer_id AND e.type = 'api.request' AND e.occurred_at <= $1) r,
              LATERAL (SELECT sum(requests) FILTER (WHERE sdk) AS sdk, sum(requests) FILTER (WHERE NOT sdk) AS raw
                         FROM request_rollups WHERE developer_id = t.developer_id AND first_at <= $1) u
             WHERE t.last_at > $1
          )
     SELECT cohort,
            count(*) FILTER (WHERE sdk > raw) AS sdk_developers,
            count(*) FILTER (WHERE raw > 0 AND sdk <= raw) AS raw_developers,
            coalesce(sum(sdk), 0) AS sdk_requests,
            coalesce(sum(raw), 0) AS raw_requests
       FROM per
      GROUP BY GROUPING SETS ((cohort), ())
      ORDER BY cohort NULLS FIRST`,
    params,
  );
  const figures = (row: Row | undefined): SdkFigures => ({
    developers: share(Number(row?.sdk_developers ?? 0), Number(row?.raw_developers ?? 0)),
    requests: share(Number(row?.sdk_requests ?? 0), Number(row?.raw_requests ?? 0)),
  });
  return {
    asOf: filter.asOf.toISOString(),
    overall: figures(rows.find((r) => r.cohort === null)),
    cohorts: rows.filter((r) => r.cohort !== null).map((row) => ({ cohort: row.cohort as string, ...figures(row) })),
  };
}
