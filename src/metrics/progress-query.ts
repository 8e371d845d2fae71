import type pg from 'pg';
import { withTransaction } from '../db/sql.ts';
import { isoWeekOf } from './iso-week.ts';
import type { CountingUnit, DeveloperFilter } from './metrics-query.ts';

/**
 * The counted units of the metrics that read stage instants (conversion, time to first call,
 * production, depth, before/after a change, the stagnation risk's curves and positions), read from
 * `developer_progress`: one narrow row per developer holding the filters and the instants of the
 * stages reached (ms since the epoch), kept by the database's triggers from `developers` and
 * `journey_stages` (docs/concepts/storage.md#a-row-per-developer-for-the-metrics). A metric scans
 * it once, without a join, and its windows are integer sums: at 1,000,000 developers that is what
 * brings a stage metric under a second (bench/RESULTS.md).
 */

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
/** 1970-01-05, a Monday: week 0. */
const FIRST_MONDAY_MS = Date.UTC(1970, 0, 5);

/** Whole days in ms, for a window added to an instant in ms. */
export const daysMs = (days: number) => Math.trunc(days) * DAY_MS;

/** The cohort (`2026-W49`) of a `week` (the migration's `onramp_week`: ISO weeks since Monday 1970-01-05). */
export const cohortOfWeek = (week: number): string => isoWeekOf(new Date(FIRST_MONDAY_MS + week * WEEK_MS));

/**
 * Whose rows a metric reads: the filtered developers (signed up by asOf), or every developer with
 * a row, signed up or not (before and after a change: the developers who entered a stage).
 */
export type ProgressFilter = DeveloperFilter | { asOf: Date; everyDeveloper: true };

/** What a metric must check of each row: where each stage is, and whether a row may hold what asOf excludes. */
interface StageColumns {
  /** Stage id → its slot (`s<slot>`), and whether some developer reached it after asOf. */
  slots: Map<string, { slot: number; afterAsOf: boolean }>;
  /** Whether some developer stands under another funnel version (their columns are not this version's stages). */
  otherVersions: boolean;
}

/**
 * Runs a metric over the counted units: `query` gets their CTE body (`countedUnitsSql`) and
 * returns the statement; its parameters are the units' ($1 is asOf in ms) and those it appends
 * with `add` (which returns the placeholder). One read-only snapshot for the columns' checks and
 * the metric, so nothing written between them slips past asOf. `work_mem` 64 MB for this
 * transaction: PostgreSQL cannot tell that a metric groups a million units into a few hundred
 * groups, and with the default 4 MB it sorts them all on disk rather than hashing them (2× slower
 * at 1,000,000 developers, bench/RESULTS.md).
 */
export function queryCountedUnits<T>(
  pool: pg.Pool,
  filter: ProgressFilter,
  unit: CountingUnit,
  funnelVersion: number,
  stages: Readonly<Record<string, string | null>>,
  query: (units: string, add: (value: unknown) => string) => string,
): Promise<T[]> {
  return withTransaction(
    pool,
    async (sql) => {
      const slots = await sql<{ stage: string; slot: number; after_as_of: boolean }>(
        // The newest instant of each stage by the stage rows' (funnel_version, stage, reached_at) index.
        `SELECT f.stage, f.slot, coalesce((SELECT max(s.reached_at) FROM journey_stages s WHERE s.funnel_version = f.funnel_version AND s.stage = f.stage) > $2, false) AS after_as_of
           FROM funnel_stage_slots f WHERE f.funnel_version = $1`,
        funnelVersion,
        filter.asOf,
      );
      const [other] = await sql<{ exists: boolean }>(`SELECT EXISTS (SELECT 1 FROM developer_progress WHERE funnel_version < $1 OR funnel_version > $1)`, funnelVersion);
      const columns: StageColumns = { slots: new Map(slots.map((r) => [r.stage, { slot: r.slot, afterAsOf: r.after_as_of }])), otherVersions: other!.exists };
      const params: unknown[] = [];
      const units = countedUnitsSql(filter, unit, funnelVersion, columns, stages, params);
      return sql<T>(
        query(units, (value) => `$${params.push(value)}`),
        ...params,
      );
    },
    { begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL work_mem = '64MB'" },
  );
}

/**
 * The units a metric counts, as a CTE body: one row per unit with `signup` (ms: the developer's,
 * or an account's first member's), its `week` (`cohortOfWeek` names it), counting developers their
 * `id`, `channel` and `account_type` too, and, per entry of `stages` (column alias → stage id), the
 * unit's first instant at that stage as of asOf (ms; null when not reached, or when the funnel
 * version has no slot for it: no one reached it). Per account (an organisation, or a developer
 * without one), a stage's instant is its members' earliest. The filter picks the members; from/to
 * bound the unit's signup. Parameters are appended to `params`, which must be empty: $1 is asOf in ms.
 */
function countedUnitsSql(
  filter: ProgressFilter,
  unit: CountingUnit,
  funnelVersion: number,
  columns: StageColumns,
  stages: Readonly<Record<string, string | null>>,
  params: unknown[],
): string {
  if (params.length !== 0) throw new Error('the counted units must add the first parameters');
  params.push(filter.asOf.getTime());
  const add = (value: unknown) => `$${params.push(value)}`;
  const members =
    'everyDeveloper' in filter
      ? []
      : [
          'p.signed_up_ms <= $1',
          ...(filter.channel ? [`p.acquisition_channel = ${add(filter.channel)}`] : []),
          ...(filter.accountType ? [`p.account_type = ${add(filter.accountType)}`] : []),
          ...(filter.orgId ? [`p.org_id = ${add(filter.orgId)}`] : []),
        ];
  const window = (signup: string) =>
    'everyDeveloper' in filter
      ? []
      : [...(filter.from ? [`${signup} >= ${add(filter.from.getTime())}`] : []), ...(filter.toBefore ? [`${signup} < ${add(filter.toBefore.getTime())}`] : [])];
  // A row's stage columns are of the newest version the developer has stage rows for: of another
  // version than this one, the developer has reached none of this one's stages yet. Each check is
  // written only when some row needs it: most queries are as of now, under the version in force.
  const version = Math.trunc(funnelVersion);
  const stageAt = (id: string | null) => {
    const column = id === null ? undefined : columns.slots.get(id);
    if (column === undefined) return 'NULL::bigint';
    const s = `p.s${Math.trunc(column.slot)}`;
    const checks = [...(columns.otherVersions ? [`p.funnel_version = ${version}`] : []), ...(column.afterAsOf ? [`${s} <= $1`] : [])];
    return checks.length === 0 ? s : `CASE WHEN ${checks.join(' AND ')} THEN ${s} END`;
  };
  const aliases = Object.entries(stages);
  if (unit === 'developer') {
    const where = [...members, ...window('p.signed_up_ms')];
    return `SELECT p.developer_id AS id, p.signed_up_ms AS signup, p.signup_week AS week, p.acquisition_channel AS channel, p.account_type${aliases.map(([alias, id]) => `, ${stageAt(id)} AS ${alias}`).join('')}
              FROM developer_progress p ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}`;
  }
  // A developer without an organisation is an account of their own: only organisations' members
  // are grouped (hashing every developer by an account key took 1.6× as long at 1,000,000).
  const having = window('min(p.signed_up_ms)');
  return `SELECT p.signed_up_ms AS signup, p.signup_week AS week${aliases.map(([alias, id]) => `, ${stageAt(id)} AS ${alias}`).join('')}
            FROM developer_progress p WHERE ${[...members, 'p.org_id IS NULL', ...window('p.signed_up_ms')].join(' AND ')}
          UNION ALL
          SELECT min(p.signed_up_ms), min(p.signup_week)${aliases.map(([, id]) => `, min(${stageAt(id)})`).join('')}
            FROM developer_progress p WHERE ${[...members, 'p.org_id IS NOT NULL'].join(' AND ')}
           GROUP BY p.org_id
           ${having.length > 0 ? `HAVING ${having.join(' AND ')}` : ''}`;
}
