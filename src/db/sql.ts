import type pg from 'pg';

/** A raw query in a transaction: `sql<Row>(text, ...params)` resolves to the rows. */
export type Sql = <T = Record<string, unknown>>(text: string, ...params: unknown[]) => Promise<T[]>;

/** Runs `work` in one transaction on a pooled connection; rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, work: (sql: Sql) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const sql: Sql = async <R>(text: string, ...params: unknown[]) => (await client.query(text, params)).rows as R[];
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
