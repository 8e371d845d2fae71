import type pg from 'pg';

/**
 * A statement's text, or a named one: PostgreSQL parses and plans a named statement once per
 * connection and keeps its plan (for the ingest's few large, fixed statements, which run for every
 * batch). Only for fixed texts: each distinct name stays prepared on every pooled connection.
 */
export type Statement = string | { name: string; text: string };

/** A raw query in a transaction: `sql<Row>(statement, ...params)` resolves to the rows. */
export type Sql = <T = Record<string, unknown>>(statement: Statement, ...params: unknown[]) => Promise<T[]>;

/** Runs `work` in one transaction on a pooled connection; rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, work: (sql: Sql) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const sql: Sql = async <R>(statement: Statement, ...params: unknown[]) =>
    (await client.query(statement, params)).rows as R[]; // pg copies a named statement's config before adding the values
  try {
    await client.query('BEGIN');
    const result = await work(sql);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
