import type pg from 'pg';
import { stageIds, stageLabel, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { durationMs } from '../rules/rules-schema.ts';
import type { StallCriterion } from '../rules/escalation-policy-schema.ts';
import { caseStatusAsOfSql, type CaseStatus } from './automation-share.ts';
import { developerSegmentSql, type Segment } from './email-engagement.ts';
import type { Position } from './stagnation-risk.ts';
import { filteredDevelopersSql, furthestStageFirstSql, stageRowsSql, type DeveloperFilter } from './metrics-query.ts';

/** The developers behind a figure: filtered, as of `asOf`, in id order, a page at a time. */

export interface DeveloperListFilter {
  stage?: string;
  /** Reached this stage or a later one (in the funnel's order) by asOf: a funnel bar. */
  reached?: string;
  /** Reached neither this stage nor a later one by asOf: with `reached`, a funnel's drop-off. */
  notReached?: string;
  /** Stalled (`stall` not null) or not. */
  stalled?: boolean;
  escalated?: boolean;
  cohort?: string;
  /** In this email engagement segment as of asOf, `none` after the rules' noEngagementAfterSends sends. */
  engagement?: { segment: Segment; noEngagementAfterSends: number };
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
  /** The first of the policy's stall criteria the developer is stalled by at asOf, with the threshold that applied to them; null when none. */
  stall: { id: string; since: string; until: string; after: string } | null;
  /** The stagnation risk in the current stage (stagnation-risk.ts); null when unavailable. */
  risk: number | null;
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

/** A page's end in risk order (`sort=risk`): the last risk (-1 for unavailable, which sorts last) and id. */
export function encodeRiskCursor(lastId: string, risk: number): string {
  return Buffer.from(JSON.stringify({ after: lastId, risk })).toString('base64url');
}

export function decodeRiskCursor(cursor: string): { id: string; risk: number } | undefined {
  const id = decodeCursor(cursor);
  if (id === undefined) return undefined;
  const risk = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { risk?: unknown }).risk;
  return typeof risk === 'number' && Number.isFinite(risk) ? { id, risk } : undefined;
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
 * The 1-based position of the first stall criterion (the escalation policy's, in its order) the
 * developer `y` is stalled by at asOf, as the handoff's stall criteria (src/journey/handoff.ts):
 * `since` reached by asOf, neither `until` nor any later stage (in the funnel's order) reached by
 * asOf, and the criterion's threshold (organizations' own, if set) elapsed since `since`. Each
 * stage has its own threshold, not one flat delay: in the shipped policy a developer 10 days past
 * their key without a call is stalled (7 d), one 10 days past their first call without going
 * active is not yet (14 d). A criterion whose `until` the funnel does not hold stalls no one.
 */
function stallSql(criteria: readonly StallCriterion[], ids: readonly string[], funnelVersion: number, ranks: string, add: (value: unknown) => string): string {
  if (criteria.length === 0) return 'NULL::int';
  const seconds = (d: string | undefined) => (d === undefined ? null : durationMs(d) / 1000);
  const since = add(criteria.map((c) => c.since));
  const untilRank = add(criteria.map((c) => ids.indexOf(c.until) + 1));
  const after = add(criteria.map((c) => seconds(c.after)));
  const orgAfter = add(criteria.map((c) => seconds(c.organizationAfter)));
  return `(SELECT min(s.ord) FROM unnest(${since}::text[], ${untilRank}::int[], ${after}::float8[], ${orgAfter}::float8[]) WITH ORDINALITY AS s(since, until_rank, after_s, org_after_s, ord)
                    JOIN journey_stages js ON js.developer_id = y.id AND js.stage = s.since AND ${stageRowsSql('js', funnelVersion)}
                   WHERE coalesce(array_position(${ranks}::text[], y.stage), 0) < s.until_rank
                     AND js.reached_at + make_interval(secs => CASE WHEN y.account_type = 'organization' THEN coalesce(s.org_after_s, s.after_s) ELSE s.after_s END) <= $1)`;
}

interface Row {
  id: string;
  stage: string | null;
  stage_at: Date | null;
  cohort: string;
  account_type: string | null;
  acquisition_channel: string | null;
  last_status: CaseStatus | null;
  stall: number | null;
}

/** The order of the list: by id, or riskiest first (unavailable last, ties by id) from `risks`, every developer's by id. */
export type DeveloperOrder = { by: 'id'; after?: string } | { by: 'risk'; risks: ReadonlyMap<string, number | null>; after?: { id: string; risk: number } };

/**
 * A developer's stage is the latest in the funnel's order they reached by asOf (a stage the funnel
 * does not hold, only without any it does). `stalls`: the escalation policy's criteria in force;
 * `riskOf`: the stagnation risk of a developer at a position (stagnation-risk.ts).
 */
export async function listDevelopers(
  pool: pg.Pool,
  filter: DeveloperFilter,
  { version: funnelVersion, document }: FunnelVersion,
  stalls: readonly StallCriterion[],
  list: DeveloperListFilter,
  limit: number,
  riskOf: (position: Position) => number | null,
  order: DeveloperOrder = { by: 'id' },
): Promise<DeveloperPage> {
  const ids = stageIds(document);
  const query = (candidates: Candidates, take: number) => pageRows(pool, filter, funnelVersion, ids, stalls, list, candidates, take);
  const rows = order.by === 'id' ? await query({ after: order.after }, limit + 1) : await riskiestFirst(order, limit + 1, query);
  const page = rows.slice(0, limit);
  const risks = new Map(
    page.map((r) => [
      r.id,
      riskOf({ stageIndex: r.stage === null ? -1 : ids.indexOf(r.stage), stageAtMs: r.stage_at?.getTime() ?? null, channel: r.acquisition_channel, accountType: r.account_type }),
    ]),
  );
  const last = page[page.length - 1];
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
      stall: stallOf(stalls[(r.stall ?? 0) - 1], r.account_type),
      risk: risks.get(r.id) ?? null,
    })),
    nextCursor: rows.length > limit && last !== undefined ? (order.by === 'risk' ? encodeRiskCursor(last.id, risks.get(last.id) ?? -1) : encodeCursor(last.id)) : null,
  };
}

/** Which developers a query of the list may return: these, in this order; or any, in id order (after `after`, but for `excluding`). */
type Candidates = { ids: readonly string[] } | { after?: string | undefined; excluding?: readonly string[] };

/**
 * Riskiest first: the developers with a risk, sorted here (by risk, then id, after the cursor's
 * place), are asked of the database a slice at a time, each slice growing, until the page is full;
 * then those without one (unavailable: last, in id order), leaving out those with one. So the
 * database sorts and joins no more risks than a page needs, until the list's last pages.
 */
async function riskiestFirst(order: Extract<DeveloperOrder, { by: 'risk' }>, take: number, query: (candidates: Candidates, take: number) => Promise<Row[]>): Promise<Row[]> {
  const after = order.after;
  const ranked = [...order.risks].filter((entry): entry is [string, number] => entry[1] !== null).sort(([a, ra], [b, rb]) => rb - ra || (a < b ? -1 : a > b ? 1 : 0));
  let next = after === undefined ? 0 : ranked.findIndex(([id, risk]) => risk < after.risk || (risk === after.risk && id > after.id));
  if (next === -1) next = ranked.length;
  const rows: Row[] = [];
  for (let slice = take; rows.length < take && next < ranked.length; slice = Math.min(slice * 4, 50_000)) {
    rows.push(...(await query({ ids: ranked.slice(next, next + slice).map(([id]) => id) }, take - rows.length)));
    next += slice;
  }
  if (rows.length < take) {
    const tailAfter = after !== undefined && after.risk < 0 ? after.id : undefined;
    rows.push(...(await query({ after: tailAfter, excluding: ranked.map(([id]) => id) }, take - rows.length)));
  }
  return rows;
}

/** A page's rows: the candidates that pass the list's filters, at most `take`, each with its stage, last case and stall as of asOf. */
async function pageRows(
  pool: pg.Pool,
  filter: DeveloperFilter,
  funnelVersion: number,
  ids: readonly string[],
  stalls: readonly StallCriterion[],
  list: DeveloperListFilter,
  candidates: Candidates,
  take: number,
): Promise<Row[]> {
  const params: unknown[] = [];
  const developers = filteredDevelopersSql(filter, params);
  const add = (value: unknown) => `$${params.push(value)}`;
  const ranks = add(ids);
  const where: string[] = [];
  // Each candidate's stage, case and stall are looked up in turn until the page is full, in the
  // candidates' order, rather than for every developer first.
  let source = 'devs';
  let order = 'x.id';
  if ('ids' in candidates) {
    source = `(SELECT devs.*, c.ord FROM devs JOIN unnest(${add(candidates.ids)}::text[]) WITH ORDINALITY AS c(id, ord) ON c.id = devs.id ORDER BY c.ord OFFSET 0) devs`;
    order = 'x.ord';
  } else {
    if (candidates.excluding !== undefined && candidates.excluding.length > 0) source = `(SELECT devs.* FROM devs WHERE devs.id <> ALL(${add(candidates.excluding)}::text[])) devs`;
    if (candidates.after !== undefined) where.push(`x.id > ${add(candidates.after)}`);
  }
  if (list.cohort !== undefined) where.push(`x.cohort = ${add(list.cohort)}`);
  if (list.stage !== undefined) where.push(`x.stage = ${add(list.stage)}`);
  if (list.escalated !== undefined) where.push(list.escalated ? 'x.last_status IS NOT NULL' : 'x.last_status IS NULL');
  // A stage's rank (1-based) against the developer's furthest: reached it or later ⇔ the furthest ranks at least as far.
  const furthest = `coalesce(array_position(${ranks}::text[], x.stage), 0)`;
  if (list.reached !== undefined) where.push(`${furthest} >= ${add(ids.indexOf(list.reached) + 1)}`);
  if (list.notReached !== undefined) where.push(`${furthest} < ${add(ids.indexOf(list.notReached) + 1)}`);
  if (list.stalled !== undefined) where.push(list.stalled ? 'x.stall IS NOT NULL' : 'x.stall IS NULL');
  if (list.engagement !== undefined) where.push(`${developerSegmentSql('x.id', add(list.engagement.noEngagementAfterSends))} = ${add(list.engagement.segment)}`);
  const stall = stallSql(stalls, ids, funnelVersion, ranks, add);
  const { rows } = await pool.query<Row>(
    `WITH devs AS (${developers})
     SELECT * FROM (SELECT y.*, ${stall} AS stall FROM (
       SELECT devs.id, devs.cohort, ${'ids' in candidates ? 'devs.ord, ' : ''}d.account_type, d.acquisition_channel, cur.stage, cur.reached_at AS stage_at, last.status AS last_status
         FROM ${source}
         JOIN developers d ON d.id = devs.id
         LEFT JOIN LATERAL (SELECT js.stage, js.reached_at FROM journey_stages js WHERE js.developer_id = devs.id AND ${stageRowsSql('js', funnelVersion)}
                             ORDER BY ${furthestStageFirstSql(ranks, 'js.stage')} LIMIT 1) cur ON true
         LEFT JOIN LATERAL (SELECT ${caseStatusAsOfSql('h')} AS status FROM handoffs h WHERE h.developer_id = devs.id AND h.opened_at <= $1
                             ORDER BY h.opened_at DESC, h.id DESC LIMIT 1) last ON true
     ) y) x
     ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY ${order} LIMIT ${add(take)}`,
    params,
  );
  return rows;
}
/** A criterion as the list shows it: the threshold that applies to the developer's account type. */
function stallOf(criterion: StallCriterion | undefined, accountType: string | null): DeveloperItem['stall'] {
  if (criterion === undefined) return null;
  const after = accountType === 'organization' ? (criterion.organizationAfter ?? criterion.after) : criterion.after;
  return { id: criterion.id, since: criterion.since, until: criterion.until, after };
}
