import type pg from 'pg';
import { isoWeekOf } from './iso-week.ts';
import type { CountingUnit, DeveloperFilter } from './metrics-query.ts';

/**
 * The counted units of the stage metrics (conversion, time to first call, production), read from
 * `developer_progress`: one narrow row per developer holding the filters and the instants of the
 * stages reached (ms since the epoch), kept by the database's triggers from `developers` and
 * `journey_stages` (docs/concepts/storage.md#a-row-per-developer-for-the-metrics). A metric scans
 * it once, without a join, and its windows are integer sums: at 1,000,000 developers that is what
 * brings a stage metric under a second (bench/RESULTS.md).
 */

/** Which column (`s<slot>`) of developer_progress holds each stage of a funnel version. */
export type StageSlots = ReadonlyMap<string, number>;

export async function readStageSlots(pool: pg.Pool, funnelVersion: number): Promise<StageSlots> {
  const { rows } = await pool.query<{ stage: string; slot: number }>('SELECT stage, slot FROM funnel_stage_slots WHERE funnel_version = $1', [funnelVersion]);
  return new Map(rows.map((r) => [r.stage, r.slot]));
}

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
/** 1970-01-05, a Monday: ISO week 0 of `signupWeekOfMsSql`. */
const FIRST_MONDAY_MS = Date.UTC(1970, 0, 5);

/** Whole days in ms, for a window added to an instant in ms. */
export const daysMs = (days: number) => Math.trunc(days) * DAY_MS;

/** The ISO week (Monday 00:00 UTC on) of an instant in ms, as an integer since 1970-01-05: a cheap group key, named by `cohortOfWeek`. */
export const signupWeekOfMsSql = (ms: string) => `floor((${ms} - ${FIRST_MONDAY_MS})::float8 / ${WEEK_MS})::int`;

/** The cohort (`2026-W49`) of a `signupWeekOfMsSql` value. */
export const cohortOfWeek = (week: number): string => isoWeekOf(new Date(FIRST_MONDAY_MS + week * WEEK_MS));

/**
 * The units a metric counts, as a CTE body: one row per unit with `signup` (ms: the developer's,
 * or an account's first member's) and, per entry of `stages` (column alias → stage id), the
 * unit's first instant at that stage as of asOf (ms; null when not reached, or when the funnel
 * version has no slot for it: no one reached it). Per account (an organisation, or a developer
 * without one), a stage's instant is its members' earliest. The filter picks the members; from/to
 * bound the unit's signup. Parameters are appended to `params`, which must be empty: $1 is asOf in ms.
 */
export function countedUnitsSql(
  filter: DeveloperFilter,
  unit: CountingUnit,
  funnelVersion: number,
  slots: StageSlots,
  stages: Readonly<Record<string, string | null>>,
  params: unknown[],
): string {
  if (params.length !== 0) throw new Error('the counted units must add the first parameters');
  params.push(filter.asOf.getTime());
  const add = (value: unknown) => `$${params.push(value)}`;
  const members = ['p.signed_up_ms <= $1'];
  if (filter.channel) members.push(`p.acquisition_channel = ${add(filter.channel)}`);
  if (filter.accountType) members.push(`p.account_type = ${add(filter.accountType)}`);
  if (filter.orgId) members.push(`p.org_id = ${add(filter.orgId)}`);
  const window = (signup: string) => [
    ...(filter.from ? [`${signup} >= ${add(filter.from.getTime())}`] : []),
    ...(filter.toBefore ? [`${signup} < ${add(filter.toBefore.getTime())}`] : []),
  ];
  // A row's stage columns are of the newest version the developer has stage rows for: of another
  // version than this one, the developer has reached none of this one's stages yet.
  const version = Math.trunc(funnelVersion);
  const stageAt = (id: string | null) => {
    const slot = id === null ? undefined : slots.get(id);
    return slot === undefined ? 'NULL::bigint' : `CASE WHEN p.funnel_version = ${version} AND p.s${Math.trunc(slot)} <= $1 THEN p.s${Math.trunc(slot)} END`;
  };
  const aliases = Object.entries(stages);
  if (unit === 'developer') {
    const where = [...members, ...window('p.signed_up_ms')];
    return `SELECT p.signed_up_ms AS signup${aliases.map(([alias, id]) => `, ${stageAt(id)} AS ${alias}`).join('')}
              FROM developer_progress p WHERE ${where.join(' AND ')}`;
  }
  const having = window('min(p.signed_up_ms)');
  return `SELECT min(p.signed_up_ms) AS signup${aliases.map(([alias, id]) => `, min(${stageAt(id)}) AS ${alias}`).join('')}
            FROM developer_progress p WHERE ${members.join(' AND ')}
           GROUP BY coalesce('org:' || p.org_id, 'developer:' || p.developer_id)
           ${having.length > 0 ? `HAVING ${having.join(' AND ')}` : ''}`;
}
