import type { Evidence } from './evidence.ts';

/**
 * The order of stage evidence, declared once: earlier event time wins, ties go to the smaller
 * event id, so the chosen cause is the same whatever order the events arrived in. The machine,
 * the ingest side and every SQL statement that picks or keeps the earliest evidence follow it;
 * test/integration/evidence-order.test.ts holds the two sides together.
 */
export function isEarlier(candidate: Pick<Evidence, 'occurredAt' | 'eventId'>, current?: Pick<Evidence, 'occurredAt' | 'eventId'>): boolean {
  if (!current) return true;
  // Both in toISOString's form (as every validated and stored instant is): they order as text.
  if (isCanonicalInstant(candidate.occurredAt) && isCanonicalInstant(current.occurredAt)) {
    return candidate.occurredAt < current.occurredAt || (candidate.occurredAt === current.occurredAt && candidate.eventId < current.eventId);
  }
  const a = Date.parse(candidate.occurredAt);
  const b = Date.parse(current.occurredAt);
  return a < b || (a === b && candidate.eventId < current.eventId);
}

/** `YYYY-MM-DDTHH:mm:ss.sssZ`, years 0000–9999 (the shape, not the validity: both sides were parsed before). */
const isCanonicalInstant = (s: string) => s.length === 24 && s.charCodeAt(23) === 90 && s.charCodeAt(19) === 46 && s.charCodeAt(10) === 84;

/**
 * The same order in SQL, as an ORDER BY list or a row to compare: a timestamptz column, then the
 * id in byte order (COLLATE "C", not the database's locale, which may put `B` after `a`), as
 * JavaScript compares ids (UTF-16 units; the two agree but for characters beyond U+FFFF).
 */
export function evidenceOrderSql(at: string, id: string): string {
  return `${at}, ${id} COLLATE "C"`;
}

/** SQL: the evidence (`at`, `id`) is earlier than (`thanAt`, `thanId`). */
export function isEarlierSql([at, id]: [string, string], [thanAt, thanId]: [string, string]): string {
  return `(${evidenceOrderSql(at, id)}) < (${evidenceOrderSql(thanAt, thanId)})`;
}
