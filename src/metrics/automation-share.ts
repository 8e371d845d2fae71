import type pg from 'pg';
import { stageIds, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { filteredDevelopersSql, stageRowsSql, type DeveloperFilter } from './metrics-query.ts';

/**
 * Automation-resolved vs human-escalated developers, and the handoff cases: time to claim and to
 * resolve, outcomes, SLA breaches and status, all as of `asOf`.
 */

export const CASE_STATUSES = ['open', 'claimed', 'snoozed', 'returned', 'resolved'] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

/**
 * A case's status as of `$1`, from its read-model row `h` and its snooze steps: closed by then →
 * its final status; else snoozed when its latest snoozed/snooze_ended step by then is `snoozed`;
 * else claimed when claimed by then; else open.
 */
export function caseStatusAsOfSql(h: string): string {
  return `CASE WHEN ${h}.closed_at <= $1 THEN ${h}.status
               WHEN (SELECT s.step FROM handoff_steps s WHERE s.handoff_id = ${h}.id AND s.step IN ('snoozed', 'snooze_ended') AND s.at <= $1
                      ORDER BY s.at DESC, s.step_key DESC LIMIT 1) = 'snoozed' THEN 'snoozed'
               WHEN ${h}.claimed_at <= $1 THEN 'claimed'
               ELSE 'open' END`;
}

export interface ShareFigures {
  /** Got a sent nudge or a handoff case as of asOf: the denominator. */
  developers: number;
  /** No handoff case; reached a stage later than a sent nudge's stage after that nudge. */
  automationResolved: number;
  /** Have a handoff case. */
  humanEscalated: number;
  /** Nudged, no case, no progress after a nudge (yet). */
  unresolved: number;
  automationShare: number | null;
  humanShare: number | null;
}

export interface Percentiles {
  cases: number;
  p50: number | null;
  p90: number | null;
}

export interface AutomationReport {
  asOf: string;
  overall: ShareFigures;
  cohorts: (ShareFigures & { cohort: string })[];
  handoffs: {
    cases: number;
    byStatus: Record<CaseStatus, number>;
    timeToClaim: Percentiles;
    timeToResolve: Percentiles;
    outcomes: { outcome: string | null; cases: number }[];
    slaBreaches: { claim: number; resolution: number };
  };
}

/** "A later stage" is later in the funnel's order; a stage it does not hold is later than none and before none. */
export async function automationShare(pool: pg.Pool, filter: DeveloperFilter, { version: funnelVersion, document }: FunnelVersion): Promise<AutomationReport> {
  const params: unknown[] = [];
  const developers = filteredDevelopersSql(filter, params);
  params.push(stageIds(document));
  const ranks = `$${params.length}::text[]`;
  const sharesQuery = pool.query<{ cohort: string | null; developers: string; automation: string; human: string }>(
    `WITH devs AS (${developers}),
          nudged AS (SELECT nd.developer_id, bool_or(js.developer_id IS NOT NULL) AS progressed
                       FROM nudge_decisions nd
                       LEFT JOIN journey_stages js ON js.developer_id = nd.developer_id
                             AND array_position(${ranks}, js.stage) > array_position(${ranks}, nd.inputs->>'stage')
                             AND js.reached_at > nd.decided_at AND ${stageRowsSql('js', funnelVersion)}
                      WHERE nd.outcome = 'sent' AND nd.decided_at <= $1
                      GROUP BY nd.developer_id),
          escalated AS (SELECT DISTINCT h.developer_id FROM handoffs h WHERE h.opened_at <= $1),
          pop AS (SELECT devs.cohort, e.developer_id IS NOT NULL AS escalated, n.developer_id IS NOT NULL AS nudged, coalesce(n.progressed, false) AS progressed
                    FROM devs LEFT JOIN nudged n ON n.developer_id = devs.id LEFT JOIN escalated e ON e.developer_id = devs.id)
     SELECT cohort, count(*) AS developers, count(*) FILTER (WHERE NOT escalated AND progressed) AS automation, count(*) FILTER (WHERE escalated) AS human
       FROM pop WHERE nudged OR escalated GROUP BY ROLLUP (cohort) ORDER BY cohort NULLS FIRST`,
    params,
  );
  const caseParams: unknown[] = [];
  const caseDevelopers = filteredDevelopersSql(filter, caseParams);
  const cases = `WITH devs AS (${caseDevelopers}),
       c AS (SELECT h.*, ${caseStatusAsOfSql('h')} AS status_as_of FROM handoffs h JOIN devs ON devs.id = h.developer_id WHERE h.opened_at <= $1)`;
  const seconds = (end: string) => `extract(epoch FROM ${end} - opened_at)::float8`;
  const summaryQuery = pool.query<{
    cases: string;
    by_status: Record<string, string> | null;
    claimed: string;
    claim: number[] | null;
    resolved: string;
    resolve: number[] | null;
    claim_breaches: string;
    resolution_breaches: string;
  }>(
    `${cases}
     SELECT (SELECT count(*) FROM c) AS cases,
            (SELECT json_object_agg(status_as_of, n) FROM (SELECT status_as_of, count(*) AS n FROM c GROUP BY status_as_of) s) AS by_status,
            (SELECT count(*) FROM c WHERE claimed_at <= $1) AS claimed,
            (SELECT percentile_cont(ARRAY[0.5, 0.9]::float8[]) WITHIN GROUP (ORDER BY ${seconds('claimed_at')}) FROM c WHERE claimed_at <= $1) AS claim,
            (SELECT count(*) FROM c WHERE status_as_of = 'resolved') AS resolved,
            (SELECT percentile_cont(ARRAY[0.5, 0.9]::float8[]) WITHIN GROUP (ORDER BY ${seconds('closed_at')}) FROM c WHERE status_as_of = 'resolved') AS resolve,
            (SELECT count(DISTINCT s.handoff_id) FROM handoff_steps s JOIN c ON c.id = s.handoff_id WHERE s.step = 'sla_breached' AND s.at <= $1 AND s.detail->>'sla' = 'claim') AS claim_breaches,
            (SELECT count(DISTINCT s.handoff_id) FROM handoff_steps s JOIN c ON c.id = s.handoff_id WHERE s.step = 'sla_breached' AND s.at <= $1 AND s.detail->>'sla' = 'resolution') AS resolution_breaches`,
    caseParams,
  );
  const outcomesQuery = pool.query<{ outcome: string | null; cases: string }>(
    `${cases} SELECT outcome, count(*) AS cases FROM c WHERE status_as_of = 'resolved' GROUP BY outcome ORDER BY count(*) DESC, outcome NULLS LAST`,
    caseParams,
  );
  // Independent queries, side by side on the pool's connections.
  const [shares, summary, outcomes] = await Promise.all([sharesQuery, summaryQuery, outcomesQuery]);

  const figures = (row?: { developers: string; automation: string; human: string }): ShareFigures => {
    const n = Number(row?.developers ?? 0);
    const automation = Number(row?.automation ?? 0);
    const human = Number(row?.human ?? 0);
    return {
      developers: n,
      automationResolved: automation,
      humanEscalated: human,
      unresolved: n - automation - human,
      automationShare: n === 0 ? null : automation / n,
      humanShare: n === 0 ? null : human / n,
    };
  };
  const overallRow = shares.rows.find((r) => r.cohort === null);
  const cohorts = shares.rows.filter((r) => r.cohort !== null).map((r) => ({ cohort: r.cohort!, ...figures(r) }));

  const s = summary.rows[0]!;
  const byStatus = Object.fromEntries(CASE_STATUSES.map((status) => [status, Number(s.by_status?.[status] ?? 0)])) as AutomationReport['handoffs']['byStatus'];
  const pct = (cases: string, p: number[] | null): Percentiles => ({ cases: Number(cases), p50: p?.[0] ?? null, p90: p?.[1] ?? null });
  return {
    asOf: filter.asOf.toISOString(),
    overall: figures(overallRow),
    cohorts,
    handoffs: {
      cases: Number(s.cases),
      byStatus,
      timeToClaim: pct(s.claimed, s.claim),
      timeToResolve: pct(s.resolved, s.resolve),
      outcomes: outcomes.rows.map((r) => ({ outcome: r.outcome, cases: Number(r.cases) })),
      slaBreaches: { claim: Number(s.claim_breaches), resolution: Number(s.resolution_breaches) },
    },
  };
}
