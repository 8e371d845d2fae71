import type pg from 'pg';

/**
 * A statement's text, or a named one: PostgreSQL parses and plans a named statement once per
 * connection and keeps its plan (for the ingest's few large, fixed statements, which run for every
 * batch). Only for fixed texts: each distinct name stays prepared on every pooled connection.
 */
export type Statement = string | { name: string; text: string };

/** A raw query in a transaction: `sql<Row>(statement, ...params)` resolves to the rows. */
export type Sql = <T = Record<string, unknown>>(statement: Statement, ...params: unknown[]) => Promise<T[]>;

/** What a log line names a failed statement by: its name, or its first words (never its values). */
export function statementLabel(statement: Statement): string {
  return typeof statement === 'string' ? statement.replace(/\s+/g, ' ').trim().slice(0, 60) : statement.name;
}

/**
 * Runs `work` in one transaction on a pooled connection; rolls back on any error. `begin` may be
 * several statements in one round trip (no parameters): `work` gets the last one's rows.
 * `beforeCommit` (asked after `work`) may give statements to run in the COMMIT's round trip (no
 * parameters: values escaped into the text), which hold their locks for that round trip only.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  work: (sql: Sql, begun: Record<string, unknown>[]) => Promise<T>,
  { begin = 'BEGIN', beforeCommit }: { begin?: string; beforeCommit?: () => string | undefined } = {},
): Promise<T> {
  const client = await pool.connect();
  const sql: Sql = async <R>(statement: Statement, ...params: unknown[]) => {
    try {
      return (await client.query(statement, params)).rows as R[]; // pg copies a named statement's config before adding the values
    } catch (error) {
      throw Object.assign(error as Error, { statement: statementLabel(statement) });
    }
  };
  try {
    const begun: pg.QueryResult | pg.QueryResult[] = await client.query(begin);
    const result = await work(sql, (Array.isArray(begun) ? begun.at(-1)! : begun).rows);
    const last = beforeCommit?.();
    if (last) await sql(`${last}; COMMIT`);
    else await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * A read whose plan the estimates make look costly (per-row subqueries) but which runs in a few
 * hundred milliseconds: PostgreSQL's JIT would first compile it for about a second (measured at
 * 100,000 developers: GET /v1/metrics/emails 1,952 ms with JIT, 312 ms without). JIT is off for
 * this statement's read-only transaction only.
 */
export function queryWithoutJit<T>(pool: pg.Pool, text: string, params: unknown[]): Promise<T[]> {
  return withTransaction(pool, (sql) => sql<T>(text, ...params), { begin: 'BEGIN READ ONLY; SET LOCAL jit = off' });
}
