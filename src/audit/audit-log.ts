import type pg from 'pg';
import type { Sql } from '../db/sql.ts';

/**
 * The audit trail (every change of schema, thresholds and SLAs is recorded:
 * docs/concepts/funnel.md#automation-and-people): one
 * append-only row per change — rules, escalation-policy, funnel and templates versions, ingest and agent keys created and
 * revoked — written in the same transaction as the change itself, so neither exists without the
 * other.
 */

export type AuditAction =
  | 'rules.applied'
  | 'escalation_policy.applied'
  | 'funnel.applied'
  | 'templates.applied'
  | 'ingest_key.created'
  | 'ingest_key.revoked'
  | 'agent_key.created'
  | 'agent_key.revoked'
  | 'developer.deleted'
  | 'webhook.created'
  | 'webhook.deleted'
  | 'webhook.secret_rotated'
  | 'annotation.created'
  | 'annotation.deleted'
  | 'alerts.applied';

export interface AuditRecord {
  actor: string;
  action: AuditAction;
  subject: string;
  reason?: string | null;
  diff?: string | null;
  detail?: Record<string, unknown> | null;
}

export interface AuditEntry extends Required<AuditRecord> {
  id: string;
  at: string;
}

export async function recordAudit(sql: Sql, entry: AuditRecord): Promise<void> {
  await sql(
    'INSERT INTO audit_log (actor, action, subject, reason, diff, detail) VALUES ($1, $2, $3, $4, $5, $6::jsonb)',
    entry.actor,
    entry.action,
    entry.subject,
    entry.reason ?? null,
    entry.diff ?? null,
    entry.detail ? JSON.stringify(entry.detail) : null,
  );
}

/** Newest first, a page at a time (keyset on the id: `before` is the last id of the previous page). */
export async function listAudit(
  pool: pg.Pool,
  filter: { action?: string; subject?: string; before?: string; limit: number },
): Promise<{ entries: AuditEntry[]; nextCursor: string | null }> {
  const params: unknown[] = [];
  const where: string[] = [];
  const add = (value: unknown) => `$${params.push(value)}`;
  if (filter.action) where.push(`action = ${add(filter.action)}`);
  if (filter.subject) where.push(`subject = ${add(filter.subject)}`);
  if (filter.before) where.push(`id < ${add(filter.before)}::bigint`);
  const { rows } = await pool.query<{
    id: string;
    at: Date;
    actor: string;
    action: AuditAction;
    subject: string;
    reason: string | null;
    diff: string | null;
    detail: Record<string, unknown> | null;
  }>(
    `SELECT id::text, at, actor, action, subject, reason, diff, detail FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${add(filter.limit + 1)}`,
    params,
  );
  const page = rows.slice(0, filter.limit);
  return {
    entries: page.map((r) => ({ id: r.id, at: r.at.toISOString(), actor: r.actor, action: r.action, subject: r.subject, reason: r.reason, diff: r.diff, detail: r.detail })),
    nextCursor: rows.length > filter.limit ? page[page.length - 1]!.id : null,
  };
}
