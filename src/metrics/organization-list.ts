import type pg from 'pg';
import { stageIds, stageLabel, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { encodeCursor } from './developer-list.ts';
import { accountMembersSql, furthestStageFirstSql, stageRowsSql, type DeveloperFilter } from './metrics-query.ts';

/** The organisations behind a figure counted per organisation: filtered, as of `asOf`, in account order, a page at a time. */

export interface OrganizationListFilter {
  /** The account's stage: the furthest any member reached. */
  stage?: string;
  /** The account's cohort: its first signup's week. */
  cohort?: string;
  /** A part of the organisation's id (a developer's id, for an account of their own), any case. */
  search?: string;
  /** Also the developers who signed up without an organisation, each their own account, as the metrics count them. */
  individuals?: boolean;
}

export interface OrganizationItem {
  /** The account key (`org:<orgId>`, or `developer:<id>`): the list's order and cursor. */
  account: string;
  orgId: string | null;
  /** The developer, for an account of one developer without an organisation. */
  developerId: string | null;
  members: number;
  stage: string | null;
  stageLabel: string | null;
  /** When the account reached its stage: its first member there. */
  stageAt: string | null;
  cohort: string;
  firstSignupAt: string;
  lastActivityAt: string | null;
}

export interface OrganizationPage {
  asOf: string;
  items: OrganizationItem[];
  nextCursor: string | null;
}

interface Row {
  unit: string;
  org_id: string | null;
  developer_id: string | null;
  members: string;
  stage: string | null;
  stage_at: Date | null;
  cohort: string;
  first_signup: Date;
  last_activity: Date | null;
}

/**
 * The latest event (any type, by occurredAt, up to asOf) of the developers in `memberIds` (a
 * text[]). Looked up per member and endpoint (`developer_endpoints` lists a member's endpoints;
 * other events have none) so that each is one step down the events index, however much traffic
 * a member sent; and the requests counted into the rollups (docs/concepts/storage.md), to the last one of a rollup by asOf.
 */
const lastEventSql = (memberIds: string) => `SELECT max(latest.at) FROM unnest(${memberIds}) AS member(id),
        LATERAL ((SELECT e.occurred_at AS at FROM events e WHERE e.kept AND e.developer_id = member.id AND e.endpoint IS NULL AND e.occurred_at <= $1 ORDER BY e.occurred_at DESC LIMIT 1)
                 UNION ALL
                 SELECT (SELECT e.occurred_at FROM events e WHERE e.developer_id = member.id AND e.endpoint = de.endpoint AND e.occurred_at <= $1 ORDER BY e.occurred_at DESC LIMIT 1)
                   FROM developer_endpoints de WHERE de.developer_id = member.id
                 UNION ALL
                 SELECT max(r.last_at) FROM request_rollups r WHERE r.developer_id = member.id AND r.last_at <= $1) latest`;

/**
 * Accounts as the metrics count them per organisation (`accountMembersSql`): an organisation's
 * stage is the furthest in the funnel's order any member reached by asOf, reached when its first
 * member did.
 */
export async function listOrganizations(
  pool: pg.Pool,
  filter: DeveloperFilter,
  { version: funnelVersion, document }: FunnelVersion,
  list: OrganizationListFilter,
  limit: number,
  after?: string,
): Promise<OrganizationPage> {
  const params: unknown[] = [];
  const members = accountMembersSql(filter, params);
  const add = (value: unknown) => `$${params.push(value)}`;
  const ranks = add(stageIds(document));
  const picked = [list.individuals ? 'true' : 'members.org_id IS NOT NULL'];
  if (list.search !== undefined) picked.push(`strpos(lower(coalesce(members.org_id, members.id)), lower(${add(list.search)})) > 0`);
  const accountWhere: string[] = [];
  if (after !== undefined) accountWhere.push(`unit > ${add(after)}`);
  if (list.cohort !== undefined) accountWhere.push(`cohort = ${add(list.cohort)}`);
  const stageWhere = list.stage === undefined ? '' : `WHERE standing.stage = ${add(list.stage)}`;
  const limitSql = `LIMIT ${add(limit + 1)}`;
  // Only organisations' members are grouped (a developer without one is an account of one). Each
  // account's standing is looked up by the stage rows' key: without a stage filter the accounts
  // are paged first, so a page reads its own members' rows only.
  const { rows } = await pool.query<Row>(
    `WITH members AS (${members}),
          picked AS (SELECT * FROM members WHERE ${picked.join(' AND ')}),
          accounts AS (
            SELECT unit, min(org_id) AS org_id, NULL AS developer_id, count(*) AS members, min(unit_signup) AS first_signup, min(cohort) AS cohort,
                   array_agg(id) AS member_ids
              FROM picked WHERE org_id IS NOT NULL GROUP BY unit
            UNION ALL
            SELECT unit, NULL, id, 1, unit_signup, cohort, ARRAY[id] FROM picked WHERE org_id IS NULL)
     SELECT page.unit, page.org_id, page.developer_id, page.members, page.stage, page.stage_at, page.cohort, page.first_signup,
            (${lastEventSql('page.member_ids')}) AS last_activity
       FROM (SELECT account.*, standing.stage, standing.at AS stage_at
               FROM (SELECT * FROM accounts ${accountWhere.length > 0 ? `WHERE ${accountWhere.join(' AND ')}` : ''} ${stageWhere ? '' : `ORDER BY unit ${limitSql}`}) account
               LEFT JOIN LATERAL (SELECT s.stage, min(s.reached_at) AS at FROM journey_stages s
                                   WHERE s.developer_id = ANY(account.member_ids) AND ${stageRowsSql('s', funnelVersion)}
                                   GROUP BY s.stage ORDER BY ${furthestStageFirstSql(ranks, 's.stage')} LIMIT 1) standing ON true
              ${stageWhere}
              ORDER BY account.unit ${limitSql}) page
      ORDER BY page.unit`,
    params,
  );
  const page = rows.slice(0, limit);
  return {
    asOf: filter.asOf.toISOString(),
    items: page.map((r) => ({
      account: r.unit,
      orgId: r.org_id,
      developerId: r.developer_id,
      members: Number(r.members),
      stage: r.stage,
      stageLabel: r.stage === null ? null : stageLabel(document, r.stage),
      stageAt: r.stage_at?.toISOString() ?? null,
      cohort: r.cohort,
      firstSignupAt: r.first_signup.toISOString(),
      lastActivityAt: r.last_activity?.toISOString() ?? null,
    })),
    nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.unit) : null,
  };
}
