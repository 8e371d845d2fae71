import type pg from 'pg';
import { stageIds, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { durationMs } from '../rules/rules-schema.ts';
import type { StallCriterion } from '../rules/escalation-policy-schema.ts';
import { queryCountedUnits } from './progress-query.ts';
import { DEFAULT_WINDOW_MS, developerRisk, riskModel, type Position, type RiskModel, type SegmentSpells } from './stagnation-risk.ts';

/**
 * The stagnation risk's data, from the row per developer (progress-query.ts) of every developer
 * signed up by asOf, the stages of the funnel in force (the cohort's history, whatever a list's
 * filters: they narrow who is shown, not what the curves learn from).
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

/** The funnel's stages as the row per developer's columns `c0`… in its order (progress-query.ts). */
const stageColumns = (ids: readonly string[]) => Object.fromEntries(ids.map((id, i) => [`c${i}`, id]));

interface SpellRow {
  index: number;
  channel: string | null;
  account_type: string | null;
  packed: string;
}

/**
 * Every spell, per stage and segment, from the row per developer of everyone signed up by asOf:
 * from reaching the stage to the first later stage reached (`least` skips the unreached; a later
 * stage recorded earlier: left at once), or censored at asOf ($1, ms). Packed (`packSpells`) and
 * aggregated to one text per group: a million developers' spells as rows cost seconds to parse.
 */
async function spellGroups(pool: pg.Pool, asOf: Date, funnelVersion: number, ids: readonly string[]): Promise<SegmentSpells[]> {
  if (ids.length < 2) return [];
  // A branch per stage but the last, each scanning the rows: half the time of a lateral list of the stages over each row.
  const later = (i: number) => ids.slice(i + 1).map((_, j) => `u.c${i + 1 + j}`);
  const spells = (units: string) =>
    ids
      .slice(0, -1)
      .map((_, i) => `SELECT ${i} AS index, u.channel, u.account_type, u.c${i} AS entered_ms, least(${later(i).join(', ')}) AS left_ms FROM (${units}) u WHERE u.c${i} IS NOT NULL`)
      .join(' UNION ALL ');
  const groups = await queryCountedUnits<SpellRow>(
    pool,
    { asOf },
    'developer',
    funnelVersion,
    stageColumns(ids),
    (units) => `SELECT s.index, s.channel, s.account_type,
                       string_agg(((CASE WHEN s.left_ms IS NULL THEN $1 ELSE greatest(s.left_ms, s.entered_ms) END - s.entered_ms) * 2 + (s.left_ms IS NOT NULL)::int)::text, ',') AS packed
                  FROM (${spells(units)}) s
                 GROUP BY s.index, s.channel, s.account_type`,
  );
  return groups.map((g) => ({ stageIndex: g.index, channel: g.channel, accountType: g.account_type, spells: Float64Array.from(g.packed.split(','), Number) }));
}

const HOUR_MS = 3_600_000;

/**
 * The curves for requests as of asOf, with each stage's window. Reading every developer's spells
 * takes about 7 s at 1,000,000 developers, too slow for each page of a list, so the curves
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
  index: number;
  /** ms since the epoch (a bigint, as text). */
  stage_ms: string;
  channel: string | null;
  account_type: string | null;
}

/** Where the developers signed up by asOf stand (`only`: just those): the furthest stage of the funnel in force reached, and when, from the row per developer. */
export async function positions(pool: pg.Pool, asOf: Date, { version, document }: FunnelVersion, only?: string | readonly string[]): Promise<Map<string, Position>> {
  const ids = stageIds(document);
  const furthestFirst = ids.map((_, i) => i).reverse();
  const found = await queryCountedUnits<PositionRow>(pool, { asOf }, 'developer', version, stageColumns(ids), (units, add) => {
    const index = `CASE ${furthestFirst.map((i) => `WHEN u.c${i} IS NOT NULL THEN ${i}`).join(' ')} END`;
    return `SELECT u.id, ${index} AS index, coalesce(${furthestFirst.map((i) => `u.c${i}`).join(', ')}) AS stage_ms, u.channel, u.account_type
              FROM (${units}) u
             WHERE ${index} IS NOT NULL ${only === undefined ? '' : `AND u.id = ANY(${add(typeof only === 'string' ? [only] : only)}::text[])`}`;
  });
  return new Map(found.map((r) => [r.id, { stageIndex: r.index, stageAtMs: Number(r.stage_ms), channel: r.channel, accountType: r.account_type }]));
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
