import type pg from 'pg';
import { withTransaction, type Sql } from '../db/sql.ts';
import { addToRequestRollups } from '../ingest/request-aggregates.ts';
import { FIRST_SESSION_SQL, firstRequestSql, type RawRequestWindow } from './raw-request-window.ts';
import { dayOf, dayPartition, ensureRangePartition, ID_DAYS, monthPartition, rangePartitions, REQUEST_MONTHS } from './partitions.ts';

export interface RetentionOptions {
  window: RawRequestWindow;
  /** The funnel's first-call stage (its role), whose first 24 h are a first session too; null when the funnel names none. */
  firstCallStage: string | null;
  now?: Date;
  /** Called after each step, so that a long run reports progress (the activity heartbeats). */
  progress?: (step: string) => void;
}

export interface RetentionReport {
  /** Partitions created ahead (or late, taking their rows out of a default partition). */
  created: string[];
  /** Request months dropped, each with the requests rolled up and the first-session requests kept. */
  dropped: { partition: string; rolledUp: number; kept: number }[];
  /** Days of request ids dropped: their duplicates are no longer refused. */
  droppedIdDays: string[];
}

/** Months created ahead of the current one, and days of ids: a request never waits for its partition. */
const MONTHS_AHEAD = 2;
const DAYS_AHEAD = 3;

/**
 * One round of the retention policy (docs/concepts/storage.md), idempotent and resumable: each step
 * is one transaction, so a round stopped anywhere left every request either raw or counted,
 * never both or neither, and the next round goes on from there.
 * 1. Creates the month and day partitions ahead.
 * 2. Drops each month of requests that every developer's raw-request window has passed (it ended
 *    `afterSignup` or more ago): its first-session requests move to the kept events, the others
 *    are counted into the rollups. Rows of the default partition that old go the same way.
 * 3. Drops the days of request ids older than the deduplication window.
 */
export async function applyRetention(pool: pg.Pool, { window, firstCallStage, now = new Date(), progress = () => {} }: RetentionOptions): Promise<RetentionReport> {
  const report: RetentionReport = { created: [], dropped: [], droppedIdDays: [] };
  const cutoff = new Date(now.getTime() - window.afterSignupMs);

  const months = new Set(await rangePartitions(pool, REQUEST_MONTHS));
  for (let i = 0; i <= MONTHS_AHEAD; i++) {
    const month = monthPartition(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1)));
    if (await ensureRangePartition(pool, REQUEST_MONTHS, month, months)) report.created.push(month.name);
  }
  // Months between the cutoff and now that still sit in the default partition (rows stored before
  // their month existed, such as all of them right after the upgrade) get their own partition.
  for (const start of await defaultMonthsSince(pool, cutoff)) {
    const month = monthPartition(start);
    if (await ensureRangePartition(pool, REQUEST_MONTHS, month, months)) report.created.push(month.name);
  }
  progress('partitions');

  for (const name of [...months].sort()) {
    const end = monthEnd(name);
    if (end > cutoff) continue;
    report.dropped.push(await retireRequests(pool, name, firstCallStage, { drop: true }));
    progress(name);
  }
  const old = await retireRequests(pool, REQUEST_MONTHS.defaultPartition, firstCallStage, { before: cutoff });
  if (old.rolledUp + old.kept > 0) report.dropped.push(old);

  const today = dayOf(now);
  const days = new Set(await rangePartitions(pool, ID_DAYS));
  for (let d = today; d <= today + DAYS_AHEAD; d++) {
    const day = dayPartition(d);
    if (await ensureRangePartition(pool, ID_DAYS, day, days)) report.created.push(day.name);
  }
  const oldestKept = today - window.dedupDays;
  for (const name of [...days].sort()) {
    if (Number(name.slice('event_ids_d'.length)) >= oldestKept) continue;
    await pool.query(`DROP TABLE IF EXISTS ${name}`);
    report.droppedIdDays.push(name);
  }
  await pool.query(`DELETE FROM ${ID_DAYS.defaultPartition} WHERE day < $1`, [oldestKept]);
  progress('ids');
  return report;
}

/** The first instants of the months of the default partition's rows from `since` on. */
async function defaultMonthsSince(pool: pg.Pool, since: Date): Promise<Date[]> {
  const { rows } = await pool.query<{ month: Date }>(
    `SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month FROM ${REQUEST_MONTHS.defaultPartition} WHERE occurred_at >= $1`,
    [since],
  );
  return rows.map((r) => r.month);
}

/** The end of a month partition, from its name (events_windowed_YYYY_MM). */
function monthEnd(name: string): Date {
  const [year, month] = name.slice('events_windowed_'.length).split('_').map(Number);
  return new Date(Date.UTC(year!, month!, 1));
}

/**
 * In one transaction: the first-session requests of `table` (a month, or the default partition's
 * rows before `before`) copied to the kept events; the others counted into the rollups; the rest of
 * a request that never found its developer forgotten with its wait; then the month dropped (or
 * those rows deleted) and the round recorded.
 */
async function retireRequests(
  pool: pg.Pool,
  table: string,
  firstCallStage: string | null,
  which: { drop: true } | { before: Date },
): Promise<{ partition: string; rolledUp: number; kept: number }> {
  return withTransaction(pool, async (sql) => {
    // Rounds may overlap (two workers, a manual run): one retires a table, the other then finds it gone.
    await sql(`SELECT pg_advisory_xact_lock(hashtext('onramp.retention'))`);
    const [exists] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_class WHERE relname = $1`, table);
    if (exists!.n === 0) return { partition: table, rolledUp: 0, kept: 0 };
    const rows = 'before' in which ? `(SELECT * FROM ${table} WHERE occurred_at < $2)` : table;
    const params: unknown[] = [firstCallStage, ...('before' in which ? [which.before] : [])];
    const kept = await keepFirstSessions(sql, rows, params);
    const rolledUp = await rollUp(sql, rows, params);
    if ('before' in which) {
      await sql(`DELETE FROM unattributed_requests w USING ${table} r WHERE r.occurred_at < $1 AND r.id = w.event_id AND r.occurred_at = w.occurred_at`, which.before);
      await sql(`DELETE FROM ${table} WHERE occurred_at < $1`, which.before);
    } else {
      await sql(`DELETE FROM unattributed_requests w USING ${table} r WHERE r.id = w.event_id AND r.occurred_at = w.occurred_at`);
      await sql(`DROP TABLE ${table}`);
    }
    if (kept + rolledUp > 0 || 'drop' in which) await sql(`INSERT INTO retention_runs (partition, rolled_up, kept) VALUES ($1, $2, $3)`, table, rolledUp, kept);
    return { partition: table, rolledUp, kept };
  });
}

/**
 * The developers' first sessions (the first-session diagnosis and depth read them raw): 24 h from
 * their first request, and 24 h from reaching the first-call stage. $1: that stage.
 */
const firstSessionsOf = (rows: string) => `
  WITH devs AS (SELECT DISTINCT developer_id FROM ${rows} r WHERE developer_id IS NOT NULL),
  sessions AS (
    SELECT devs.developer_id,
      ${firstRequestSql('devs.developer_id')} AS first_request_at,
      (SELECT min(reached_at) FROM journey_stages s WHERE s.developer_id = devs.developer_id AND s.stage = $1::text) AS first_call_at
    FROM devs)`;

/** Never null (a developer without a first-call stage has no such session), so that every row is either kept or counted. */
const IN_FIRST_SESSION = `coalesce(r.occurred_at <= s.first_request_at + ${FIRST_SESSION_SQL}, false) OR coalesce(r.occurred_at BETWEEN s.first_call_at AND s.first_call_at + ${FIRST_SESSION_SQL}, false)`;

async function keepFirstSessions(sql: Sql, rows: string, params: unknown[]): Promise<number> {
  const [result] = await sql<{ n: number }>(
    `${firstSessionsOf(rows)},
     kept AS (
       INSERT INTO events (id, type, developer_id, api_key, occurred_at, received_at, endpoint, status, mode, sdk, properties, kept)
       SELECT r.id, r.type, r.developer_id, r.api_key, r.occurred_at, r.received_at, r.endpoint, r.status, r.mode, r.sdk, r.properties, true
       FROM ${rows} r JOIN sessions s USING (developer_id) WHERE (${IN_FIRST_SESSION})
       ON CONFLICT DO NOTHING RETURNING 1)
     SELECT count(*)::int AS n FROM kept`,
    ...params,
  );
  return result!.n;
}

async function rollUp(sql: Sql, rows: string, params: unknown[]): Promise<number> {
  const [result] = await sql<{ n: number }>(
    `${firstSessionsOf(rows)},
     counted AS (
       SELECT r.developer_id, r.endpoint, r.status, r.sdk, r.occurred_at
       FROM ${rows} r JOIN sessions s USING (developer_id) WHERE NOT (${IN_FIRST_SESSION})),
     rolled AS (${addToRequestRollups('counted')})
     SELECT count(*)::int AS n FROM counted`,
    ...params,
  );
  return result!.n;
}
