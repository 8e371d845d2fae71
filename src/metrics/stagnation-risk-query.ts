import type pg from 'pg';
import { stageIds, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { durationMs } from '../rules/rules-schema.ts';
import type { StallCriterion } from '../rules/escalation-policy-schema.ts';
import { filteredDevelopersSql, stageRowsSql } from './metrics-query.ts';
import { DEFAULT_WINDOW_MS, developerRisk, riskModel, type Position, type RiskModel, type SegmentSpells } from './stagnation-risk.ts';

/**
 * The stagnation risk's data, from the stage rows of the funnel in force of every developer signed
 * up by asOf (the cohort's history, whatever a list's filters: they narrow who is shown, not what
 * the curves learn from).
 */

/**
 * A stage's window W: the `after` of the escalation policy's first stall criterion that starts
 * from it (the delay after which the policy calls it stalled), DEFAULT_WINDOW_MS for a stage none
 * starts from. One window per stage: organisations' shorter `organizationAfter` is not used.
 */
export function stageWindowsMs(ids: readonly string[], stalls: readonly StallCriterion[]): number[] {
  return ids.map((id) => {
    const stall = stalls.find((s) => s.since === id);
    return stall === undefined ? DEFAULT_WINDOW_MS : durationMs(stall.after);
  });
}

/** Each developer's stage rows in the funnel in force, by asOf, with the stage's 1-based rank: a CTE body `(developer_id, rank, reached_at)`. */
function rankedRowsSql(asOf: Date, funnelVersion: number, ids: readonly string[], params: unknown[]): string {
  const developers = filteredDevelopersSql({ asOf }, params);
  const ranks = `$${params.push(ids)}`;
  return `SELECT js.developer_id, array_position(${ranks}::text[], js.stage) AS rank, js.reached_at
            FROM journey_stages js JOIN (${developers}) devs ON devs.id = js.developer_id
           WHERE ${stageRowsSql('js', funnelVersion)} AND js.stage = ANY(${ranks}::text[])`;
}

interface SpellRow {
  rank: number;
  channel: string | null;
  account_type: string | null;
  durations: string;
  exits: string;
}

/**
 * Every spell, per stage and segment: from reaching the stage to the first later stage reached
 * (a later stage recorded earlier: left at once), or censored at asOf ($1). Aggregated to one text
 * per group: 100,000 developers' spells as rows or arrays cost most of a second to parse.
 */
async function spellGroups(pool: pg.Pool, asOf: Date, funnelVersion: number, ids: readonly string[]): Promise<SegmentSpells[]> {
  const params: unknown[] = [];
  const rows = rankedRowsSql(asOf, funnelVersion, ids, params);
  const { rows: groups } = await pool.query<SpellRow>(
    `WITH rows AS (${rows}),
     spells AS (SELECT r.developer_id, r.rank, r.reached_at,
                       min(r.reached_at) OVER (PARTITION BY r.developer_id ORDER BY r.rank DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS left_at
                  FROM rows r)
     SELECT s.rank, d.acquisition_channel AS channel, d.account_type,
            string_agg(round(extract(epoch FROM (CASE WHEN s.left_at IS NULL THEN $1 ELSE greatest(s.left_at, s.reached_at) END) - s.reached_at) * 1000)::text, ',') AS durations,
            string_agg(CASE WHEN s.left_at IS NULL THEN '0' ELSE '1' END, '') AS exits
       FROM spells s JOIN developers d ON d.id = s.developer_id
      WHERE s.rank < ${Math.trunc(ids.length)}
      GROUP BY s.rank, d.acquisition_channel, d.account_type`,
    params,
  );
  return groups.map((g) => {
    const durations = g.durations.split(',');
    return {
      stageIndex: g.rank - 1,
      channel: g.channel,
      accountType: g.account_type,
      spells: durations.map((d, i) => ({ durationMs: Number(d), exited: g.exits[i] === '1' })),
    };
  });
}

const HOUR_MS = 3_600_000;

/**
 * The curves for requests as of asOf, with each stage's window. Reading every developer's stage
 * rows takes about a second at 100,000 developers, too slow for each page of a list, so the curves
 * are the history up to the start of asOf's UTC hour (the same for the same asOf: reproducible),
 * built once and kept `ttlMs` (one app's process, a few entries); time in stage still runs to asOf.
 */
export class RiskModels {
  private readonly built = new Map<string, { at: number; model: Promise<RiskModel> }>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly ttlMs = 5 * 60_000,
    private readonly now = () => Date.now(),
  ) {}

  async asOf(asOf: Date, { version, document }: FunnelVersion, stalls: readonly StallCriterion[]): Promise<RiskModel> {
    const ids = stageIds(document);
    const windows = stageWindowsMs(ids, stalls);
    const hour = new Date(Math.floor(asOf.getTime() / HOUR_MS) * HOUR_MS);
    const key = JSON.stringify([hour.getTime(), version, windows]);
    for (const [k, entry] of this.built) if (this.now() - entry.at > this.ttlMs) this.built.delete(k);
    let entry = this.built.get(key);
    if (entry === undefined) {
      entry = { at: this.now(), model: spellGroups(this.pool, hour, version, ids).then((groups) => riskModel(groups, windows, hour.getTime())) };
      this.built.set(key, entry);
      entry.model.catch(() => this.built.delete(key));
      if (this.built.size > 16) this.built.delete(this.built.keys().next().value!);
    }
    return { ...(await entry.model), asOfMs: asOf.getTime() };
  }
}

interface PositionRow {
  id: string;
  rank: number | null;
  stage_at: Date | null;
  channel: string | null;
  account_type: string | null;
}

const positionOf = (r: PositionRow): Position => ({
  stageIndex: (r.rank ?? 0) - 1,
  stageAtMs: r.stage_at?.getTime() ?? null,
  channel: r.channel,
  accountType: r.account_type,
});

/** Where the developers signed up by asOf stand (`only`: just those): the furthest stage of the funnel in force reached, and when. */
export async function positions(pool: pg.Pool, asOf: Date, { version, document }: FunnelVersion, only?: string | readonly string[]): Promise<Map<string, Position>> {
  const params: unknown[] = [];
  const rows = rankedRowsSql(asOf, version, stageIds(document), params);
  const { rows: found } = await pool.query<PositionRow>(
    `SELECT d.id, f.rank, f.reached_at AS stage_at, d.acquisition_channel AS channel, d.account_type
       FROM (SELECT DISTINCT ON (r.developer_id) r.developer_id, r.rank, r.reached_at FROM (${rows}) r
              ${only === undefined ? '' : `WHERE r.developer_id = ANY($${params.push(typeof only === 'string' ? [only] : only)}::text[])`}
              ORDER BY r.developer_id, r.rank DESC) f
       JOIN developers d ON d.id = f.developer_id`,
    params,
  );
  return new Map(found.map((r) => [r.id, positionOf(r)]));
}

/** These developers' risks as of asOf (null: unavailable, or not signed up by then). */
export async function risksOf(
  models: RiskModels,
  pool: pg.Pool,
  asOf: Date,
  funnel: FunnelVersion,
  stalls: readonly StallCriterion[],
  ids: readonly string[],
): Promise<Map<string, number | null>> {
  if (ids.length === 0) return new Map();
  const [model, found] = await Promise.all([models.asOf(asOf, funnel, stalls), positions(pool, asOf, funnel, ids)]);
  return new Map(ids.map((id) => [id, found.has(id) ? developerRisk(model, found.get(id)!).risk : null]));
}

/** Every developer's risk (null: unavailable), for sorting a list by it. */
export function risksById(model: RiskModel, all: ReadonlyMap<string, Position>): Map<string, number | null> {
  return new Map([...all].map(([id, position]) => [id, developerRisk(model, position).risk]));
}
