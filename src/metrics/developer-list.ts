import type pg from 'pg';
import { stageIds, stageLabel, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { durationMs } from '../rules/rules-schema.ts';
import type { StallCriterion } from '../rules/escalation-policy-schema.ts';
import { caseStatusAsOfSql, type CaseStatus } from './automation-share.ts';
import { filteredDevelopersSql, furthestStageFirstSql, stageRowsSql, type DeveloperFilter } from './metrics-query.ts';

/** The developers behind a figure: filtered, as of `asOf`, in id order, a page at a time. */

export interface DeveloperListFilter {
  stage?: string;
  /** Stalled under these criteria (the escalation policy's), the rule the handoff escalates by. */
  stalled?: { is: boolean; criteria: readonly StallCriterion[] };
  escalated?: boolean;
  cohort?: string;
}

export interface DeveloperItem {
  id: string;
  stage: string | null;
  /** How people see the stage (stageLabel). */
  stageLabel: string | null;
  stageAt: string | null;
  cohort: string;
  accountType: string | null;
  channel: string | null;
  escalated: boolean;
  lastHandoffStatus: CaseStatus | null;
}

export interface DeveloperPage {
  asOf: string;
  items: DeveloperItem[];
  nextCursor: string | null;
}

/** The cursor is opaque to clients: base64url of the last id of the page. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ after: lastId })).toString('base64url');
}

export function decodeCursor(cursor: string): string | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const after = (value as { after?: unknown } | null)?.after;
    return typeof after === 'string' && after.length > 0 ? after : undefined;
  } catch {
    return undefined;
  }
}

/**
 * As the handoff's stall criteria (src/journey/handoff.ts): `since` reached by asOf, neither
 * `until` nor any later stage (in the funnel's order) reached by asOf, and the threshold
 * (organizations' own, if set) elapsed since `since`. A criterion whose `until` the funnel does not
 * hold stalls no one.
 */
function stalledSql(criteria: readonly StallCriterion[], ids: readonly string[], funnelVersion: number, ranks: string, add: (value: unknown) => string): string {
  if (criteria.length === 0) return 'false';
  const seconds = (d: string | undefined) => (d === undefined ? null : durationMs(d) / 1000);
  const since = add(criteria.map((c) => c.since));
  const untilRank = add(criteria.map((c) => ids.indexOf(c.until) + 1));
  const after = add(criteria.map((c) => seconds(c.after)));
  const orgAfter = add(criteria.map((c) => seconds(c.organizationAfter)));
  return `EXISTS (SELECT 1 FROM unnest(${since}::text[], ${untilRank}::int[], ${after}::float8[], ${orgAfter}::float8[]) AS s(since, until_rank, after_s, org_after_s)
                    JOIN journey_stages js ON js.developer_id = x.id AND js.stage = s.since AND ${stageRowsSql('js', funnelVersion)}
                   WHERE coalesce(array_position(${ranks}::text[], x.stage), 0) < s.until_rank
                     AND js.reached_at + make_interval(secs => CASE WHEN x.account_type = 'organization' THEN coalesce(s.org_after_s, s.after_s) ELSE s.after_s END) <= $1)`;
}

interface Row {
  id: string;
  stage: string | null;
  stage_at: Date | null;
  cohort: string;
  account_type: string | null;
  acquisition_channel: string | null;
  last_status: CaseStatus | null;
}

/** A developer's stage is the latest in the funnel's order they reached by asOf (a stage the funnel does not hold, only without any it does). */
export async function listDevelopers(
  pool: pg.Pool,
  filter: DeveloperFilter,
  { version: funnelVersion, document }: FunnelVersion,
  list: DeveloperListFilter,
  limit: number,
  after?: string,
): Promise<DeveloperPage> {
  const params: unknown[] = [];
  const developers = filteredDevelopersSql(filter, params);
  const add = (value: unknown) => `$${params.push(value)}`;
  const ids = stageIds(document);
  const ranks = add(ids);
  const where: string[] = [];
  if (after !== undefined) where.push(`x.id > ${add(after)}`);
  if (list.cohort !== undefined) where.push(`x.cohort = ${add(list.cohort)}`);
  if (list.stage !== undefined) where.push(`x.stage = ${add(list.stage)}`);
  if (list.escalated !== undefined) where.push(list.escalated ? 'x.last_status IS NOT NULL' : 'x.last_status IS NULL');
  if (list.stalled !== undefined) {
    const stalled = stalledSql(list.stalled.criteria, ids, funnelVersion, ranks, add);
    where.push(list.stalled.is ? stalled : `NOT ${stalled}`);
  }
  const { rows } = await pool.query<Row>(
    `WITH devs AS (${developers})
     SELECT * FROM (
       SELECT devs.id, devs.cohort, d.account_type, d.acquisition_channel, cur.stage, cur.reached_at AS stage_at, last.status AS last_status
         FROM devs
         JOIN developers d ON d.id = devs.id
         LEFT JOIN LATERAL (SELECT js.stage, js.reached_at FROM journey_stages js WHERE js.developer_id = devs.id AND ${stageRowsSql('js', funnelVersion)}
                             ORDER BY ${furthestStageFirstSql(ranks, 'js.stage')} LIMIT 1) cur ON true
         LEFT JOIN LATERAL (SELECT ${caseStatusAsOfSql('h')} AS status FROM handoffs h WHERE h.developer_id = devs.id AND h.opened_at <= $1
                             ORDER BY h.opened_at DESC, h.id DESC LIMIT 1) last ON true
     ) x
     ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY x.id LIMIT ${add(limit + 1)}`,
    params,
  );
  const page = rows.slice(0, limit);
  return {
    asOf: filter.asOf.toISOString(),
    items: page.map((r) => ({
      id: r.id,
      stage: r.stage,
      stageLabel: r.stage === null ? null : stageLabel(document, r.stage),
      stageAt: r.stage_at?.toISOString() ?? null,
      cohort: r.cohort,
      accountType: r.account_type,
      channel: r.acquisition_channel,
      escalated: r.last_status !== null,
      lastHandoffStatus: r.last_status,
    })),
    nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null,
  };
}
