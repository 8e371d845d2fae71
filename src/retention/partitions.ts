import type pg from 'pg';
import { withTransaction } from '../db/sql.ts';

/**
 * The range partitions Onramp keeps (docs/concepts/storage.md): months of api.request rows
 * (events_windowed, by occurred_at) and days of request ids (event_ids, by arrival day). Each
 * parent has a DEFAULT partition for what no range holds yet; a range is created ahead of time,
 * and one created late takes its rows out of the default in the same transaction.
 */
export interface RangePartition {
  name: string;
  /** Inclusive lower bound, exclusive upper bound, as SQL literals of the key's type. */
  from: string;
  to: string;
}

export interface PartitionedTable {
  parent: string;
  defaultPartition: string;
  /** The key column, for moving rows out of the default. */
  key: string;
}

export const REQUEST_MONTHS: PartitionedTable = { parent: 'events_windowed', defaultPartition: 'events_windowed_default', key: 'occurred_at' };
export const ID_DAYS: PartitionedTable = { parent: 'event_ids', defaultPartition: 'event_ids_default', key: 'day' };

/** The month partition of events_windowed holding `at` (UTC months). */
export function monthPartition(at: Date): RangePartition & { end: Date } {
  const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  const end = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
  const name = `events_windowed_${start.getUTCFullYear()}_${String(start.getUTCMonth() + 1).padStart(2, '0')}`;
  return { name, from: `'${start.toISOString()}'`, to: `'${end.toISOString()}'`, end };
}

/** The day partition of event_ids for day number `day` (whole days since 1970-01-01, UTC). */
export function dayPartition(day: number): RangePartition {
  return { name: `event_ids_d${day}`, from: String(day), to: String(day + 1) };
}

export const dayOf = (at: Date) => Math.floor(at.getTime() / 86_400_000);

/** The partitions of `table` but its default, by name. */
export async function rangePartitions(pool: pg.Pool, { parent, defaultPartition }: PartitionedTable): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass AND c.relname <> $2 ORDER BY 1`,
    [parent, defaultPartition],
  );
  return rows.map((r) => r.name);
}

/**
 * Creates the partition unless it exists: a table like the parent, the default's rows of its range
 * moved in, then attached (which checks that the default holds none of its range any more), all in
 * one transaction, so a row is never in neither or both. Returns whether it created it.
 */
export async function ensureRangePartition(pool: pg.Pool, table: PartitionedTable, partition: RangePartition, existing: Set<string>): Promise<boolean> {
  if (existing.has(partition.name)) return false;
  const { parent, defaultPartition, key } = table;
  await withTransaction(pool, async (sql) => {
    // Serialises creators: another process may be creating the same one.
    await sql(`SELECT pg_advisory_xact_lock(hashtext($1))`, `onramp.partition.${partition.name}`);
    const [found] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_class WHERE relname = $1`, partition.name);
    if (found!.n > 0) return;
    await sql(`CREATE TABLE ${partition.name} (LIKE ${parent} INCLUDING DEFAULTS)`);
    const range = `${key} >= ${partition.from} AND ${key} < ${partition.to}`;
    await sql(`WITH moved AS (DELETE FROM ${defaultPartition} WHERE ${range} RETURNING *) INSERT INTO ${partition.name} SELECT * FROM moved`);
    await sql(`ALTER TABLE ${parent} ATTACH PARTITION ${partition.name} FOR VALUES FROM (${partition.from}) TO (${partition.to})`);
  });
  existing.add(partition.name);
  return true;
}
