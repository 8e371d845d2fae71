import type pg from 'pg';
import { withTransaction } from '../db/sql.ts';
import { recordAudit } from './audit-log.ts';

/** A note on the team's timeline ("new quickstart shipped"), marked on the cohort charts. */
export interface Annotation {
  id: string;
  /** When the change happened. */
  at: string;
  text: string;
  author: string;
  createdAt: string;
}

interface Row {
  id: string;
  at: Date;
  text: string;
  author: string;
  created_at: Date;
}

const annotation = (r: Row): Annotation => ({ id: String(r.id), at: r.at.toISOString(), text: r.text, author: r.author, createdAt: r.created_at.toISOString() });

/** Written with its audit entry in one transaction. */
export async function createAnnotation(pool: pg.Pool, input: { at: Date; text: string; author: string }): Promise<Annotation> {
  return withTransaction(pool, async (sql) => {
    const [row] = await sql<Row>('INSERT INTO annotations (at, text, author) VALUES ($1, $2, $3) RETURNING id, at, text, author, created_at', input.at, input.text, input.author);
    const created = annotation(row!);
    await recordAudit(sql, { actor: input.author, action: 'annotation.created', subject: created.id, detail: { at: created.at, text: created.text } });
    return created;
  });
}

/** Undefined for an id that is not (or no longer) there. */
export async function deleteAnnotation(pool: pg.Pool, id: string, author: string, reason: string | undefined): Promise<Annotation | undefined> {
  return withTransaction(pool, async (sql) => {
    const [row] = await sql<Row>('DELETE FROM annotations WHERE id = $1 RETURNING id, at, text, author, created_at', id);
    if (!row) return undefined;
    const deleted = annotation(row);
    await recordAudit(sql, { actor: author, action: 'annotation.deleted', subject: deleted.id, reason: reason ?? null, detail: { at: deleted.at, text: deleted.text } });
    return deleted;
  });
}

export async function listAnnotations(pool: pg.Pool, range: { from?: Date; to?: Date }): Promise<Annotation[]> {
  const { rows } = await pool.query<Row>(
    'SELECT id, at, text, author, created_at FROM annotations WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at < $2) ORDER BY at, id',
    [range.from ?? null, range.to ?? null],
  );
  return rows.map(annotation);
}
