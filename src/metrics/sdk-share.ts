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
 * flag is raw HTTP). Developers: those with at least one such request; SDK when their SDK requests
 * outnumber their raw ones (a strict majority: a tie is raw HTTP).
 */
export async function sdkShare(pool: pg.Pool, filter: DeveloperFilter): Promise<SdkReport> {
  const params: unknown[] = [];
  const developers = filteredDevelopersSql(filter, params);
  const { rows } = await pool.query<Row>(
    `WITH devs AS (${developers}),
          per AS (
            SELECT devs.cohort, count(*) FILTER (WHERE e.sdk) AS sdk, count(e.id) FILTER (WHERE e.sdk IS NOT TRUE) AS raw
              FROM devs
              LEFT JOIN events e ON e.developer_id = devs.id AND e.type = 'api.request' AND e.occurred_at <= $1
             GROUP BY devs.id, devs.cohort
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
