import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type pg from 'pg';
import { recordAudit } from '../audit/audit-log.ts';
import { withTransaction, type Sql } from '../db/sql.ts';
import { journeyWorkflowId } from '../../workflows/journey-messages.ts';

/**
 * Deleting a developer (privacy by default, seed 001): their journey ends, their personal data
 * goes — email and time zone, the contact and free-text properties of their events (email, raw
 * user agents, ticket subjects, webhook URLs, anything extra), the emails sent to them, agents'
 * notes and ticket subjects in their cases — while the anonymous rows the metrics count (stages,
 * transitions, request aggregates, nudge decisions, case timings) stay. A tombstone keeps them
 * deleted: ingest stores nothing more of theirs. An audit row says who deleted whom, when, why.
 */

/** Event properties that say nothing about the person (enums, numbers, ids of things). */
const KEPT_PROPERTIES = ['accountType', 'acquisitionChannel', 'orgId', 'apiKey', 'endpoint', 'method', 'status', 'mode', 'latencyMs', 'messageId', 'path'];

export interface DeletionResult {
  developerId: string;
  deletedAt: string;
  /** The developer had been deleted already (nothing changed but the journey's end, again). */
  alreadyDeleted: boolean;
  redacted: { events: number; emails: number; handoffSteps: number };
}

export class TemporalUnavailableError extends Error {}

export async function deleteDeveloper(pool: pg.Pool, temporal: Client, developerId: string, request: { author: string; reason?: string }): Promise<DeletionResult | undefined> {
  const result = await withTransaction(pool, async (sql) => {
    const [developer] = await sql<{ id: string }>('SELECT id FROM developers WHERE id = $1 FOR UPDATE', developerId);
    if (!developer) return undefined;
    const [existing] = await sql<{ deleted_at: Date }>('SELECT deleted_at FROM developer_deletions WHERE developer_id = $1', developerId);
    if (existing) return { developerId, deletedAt: existing.deleted_at.toISOString(), alreadyDeleted: true, redacted: await redact(sql, developerId) };
    const [tombstone] = await sql<{ deleted_at: Date }>('INSERT INTO developer_deletions (developer_id, deleted_by, reason) VALUES ($1, $2, $3) RETURNING deleted_at', developerId, request.author, request.reason ?? null);
    const redacted = await redact(sql, developerId);
    await recordAudit(sql, { actor: request.author, action: 'developer.deleted', subject: developerId, reason: request.reason ?? null, detail: { redacted } });
    return { developerId, deletedAt: tombstone!.deleted_at.toISOString(), alreadyDeleted: false, redacted };
  });
  if (!result) return undefined;
  try {
    await temporal.workflow.getHandle(journeyWorkflowId(developerId)).terminate('developer deleted');
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw new TemporalUnavailableError(`the journey could not be ended: ${(error as Error).message}`);
  }
  // A batch that was being ingested while the tombstone was written may have committed since.
  await withTransaction(pool, (sql) => redact(sql, developerId));
  return result;
}

/** Removes the personal data (idempotent); the counts say what it touched. */
async function redact(sql: Sql, developerId: string): Promise<DeletionResult['redacted']> {
  await sql('UPDATE developers SET email = NULL, timezone = NULL, updated_at = now() WHERE id = $1 AND (email IS NOT NULL OR timezone IS NOT NULL)', developerId);
  const events = await sql(
    `UPDATE events SET properties = coalesce((SELECT jsonb_object_agg(key, value) FROM jsonb_each(properties)
                                               WHERE key = ANY($2::text[]) OR (type = 'consent.updated' AND key = 'email')), '{}'::jsonb)
      WHERE developer_id = $1
        AND EXISTS (SELECT 1 FROM jsonb_object_keys(properties) AS k WHERE NOT (k = ANY($2::text[]) OR (type = 'consent.updated' AND k = 'email')))
      RETURNING id`,
    developerId,
    KEPT_PROPERTIES,
  );
  const emails = await sql(`UPDATE emails SET to_address = '[deleted]', subject = '[deleted]', text = '', html = '' WHERE developer_id = $1 AND to_address <> '[deleted]' RETURNING id`, developerId);
  const steps = await sql(`UPDATE handoff_steps SET detail = detail - 'text' - 'subject' - 'note' WHERE developer_id = $1 AND (detail ? 'text' OR detail ? 'subject' OR detail ? 'note') RETURNING step_key`, developerId);
  await sql(`UPDATE handoffs SET view = jsonb_set(view, '{reason}', '"support ticket"') WHERE developer_id = $1 AND criterion = 'support_ticket' AND view->>'reason' <> 'support ticket'`, developerId);
  await sql('DELETE FROM outbox_signals WHERE developer_id = $1', developerId);
  return { events: events.length, emails: emails.length, handoffSteps: steps.length };
}
