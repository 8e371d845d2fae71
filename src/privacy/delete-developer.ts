import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { recordAudit } from '../audit/audit-log.ts';
import { withTransaction, type Sql } from '../db/sql.ts';
import { queueWebhookEvents } from '../webhooks/webhook-events.ts';
import type { CaseView } from '../cases/case-context.ts';
import { storeHandoffSteps, type HandoffStepRow } from '../cases/handoff-log.ts';
import type { JourneySnapshotSummary } from '../journey/journey-effects.ts';
import { purgeJourney } from '../temporal/journey-client.ts';

/**
 * Deleting a developer (privacy by default, docs/concepts/funnel.md#automation-and-people): their journey ends, their personal data
 * goes — email and time zone, the contact and free-text properties of their events (email, raw
 * user agents, ticket subjects, webhook URLs, anything extra), the emails sent to them, agents'
 * notes and ticket subjects in their cases, the time zone their nudge decisions were made on — while
 * the anonymous rows the metrics count (stages, transitions, request aggregates, nudge decisions,
 * case timings) stay. Their open cases are closed (outcome `developer_deleted`, by the deleter),
 * and the journey's Temporal history, every run of it, is deleted. A tombstone keeps them deleted:
 * ingest stores nothing more of theirs. An audit row says who deleted whom, when, why.
 */

/** The outcome a case closed by a deletion records (it is no agent's to work any more). */
export const DELETED_OUTCOME = 'developer_deleted';

/** Event properties that say nothing about the person (enums, numbers, ids of things). */
const KEPT_PROPERTIES = [
  'accountType',
  'acquisitionChannel',
  'orgId',
  'apiKey',
  'endpoint',
  'method',
  'status',
  'mode',
  'latencyMs',
  'messageId',
  'path',
  'link',
  'machine',
  'bounceType',
  'provider',
  'feedbackType',
];

export interface DeletionResult {
  developerId: string;
  deletedAt: string;
  /** The developer had been deleted already (nothing changed but the journey's end, again). */
  alreadyDeleted: boolean;
  redacted: { events: number; emails: number; handoffSteps: number; notes: number; nudgeDecisions: number };
  /** Their cases that were still open, closed now (the views as closed). */
  closedCases: CaseView[];
}

export class TemporalUnavailableError extends Error {}

export async function deleteDeveloper(pool: pg.Pool, temporal: Client, developerId: string, request: { author: string; reason?: string }): Promise<DeletionResult | undefined> {
  const result = await withTransaction(pool, async (sql) => {
    const [developer] = await sql<{ id: string }>('SELECT id FROM developers WHERE id = $1 FOR UPDATE', developerId);
    if (!developer) return undefined;
    const [existing] = await sql<{ deleted_at: Date }>('SELECT deleted_at FROM developer_deletions WHERE developer_id = $1', developerId);
    if (existing) return { developerId, deletedAt: existing.deleted_at.toISOString(), alreadyDeleted: true, ...(await redact(sql, developerId, request.author)) };
    const [tombstone] = await sql<{ deleted_at: Date }>(
      'INSERT INTO developer_deletions (developer_id, deleted_by, reason) VALUES ($1, $2, $3) RETURNING deleted_at',
      developerId,
      request.author,
      request.reason ?? null,
    );
    const done = await redact(sql, developerId, request.author);
    const deletedAt = tombstone!.deleted_at.toISOString();
    // Queued after the closed cases' `handoff.resolved`: a receiver hears of the deletion last.
    await queueWebhookEvents(sql, [{ type: 'developer.deleted', developerId, key: `developer.deleted/${developerId}`, occurredAt: deletedAt, data: { developerId, deletedAt } }]);
    await recordAudit(sql, {
      actor: request.author,
      action: 'developer.deleted',
      subject: developerId,
      reason: request.reason ?? null,
      detail: { redacted: done.redacted, closedCases: done.closedCases.map((c) => c.id) },
    });
    return { developerId, deletedAt, alreadyDeleted: false, ...done };
  });
  if (!result) return undefined;
  try {
    await purgeJourney(temporal, developerId);
  } catch (error) {
    throw new TemporalUnavailableError(`the journey could not be ended and its history deleted: ${(error as Error).message}`);
  }
  // A batch (or a last journey step) that was in flight while the tombstone was written may have committed since.
  const late = await withTransaction(pool, (sql) => redact(sql, developerId, request.author));
  return { ...result, closedCases: [...result.closedCases, ...late.closedCases] };
}

/** Removes the personal data and closes the open cases (idempotent); the counts say what it touched. */
async function redact(sql: Sql, developerId: string, author: string): Promise<Pick<DeletionResult, 'redacted' | 'closedCases'>> {
  await sql(
    'UPDATE developers SET email = NULL, timezone = NULL, name = NULL, locale = NULL, updated_at = now() WHERE id = $1 AND (email IS NOT NULL OR timezone IS NOT NULL OR name IS NOT NULL OR locale IS NOT NULL)',
    developerId,
  );
  const events = await sql(
    `UPDATE events SET properties = coalesce((SELECT jsonb_object_agg(key, value) FROM jsonb_each(properties)
                                               WHERE key = ANY($2::text[]) OR (type = 'consent.updated' AND key = 'email')), '{}'::jsonb)
      WHERE developer_id = $1
        AND EXISTS (SELECT 1 FROM jsonb_object_keys(properties) AS k WHERE NOT (k = ANY($2::text[]) OR (type = 'consent.updated' AND k = 'email')))
      RETURNING id`,
    developerId,
    KEPT_PROPERTIES,
  );
  const emails = await sql(
    `UPDATE emails SET to_address = '[deleted]', subject = '[deleted]', text = '', html = '', links = '{}' WHERE developer_id = $1 AND to_address <> '[deleted]' RETURNING id`,
    developerId,
  );
  const steps = await sql(
    `UPDATE handoff_steps SET detail = detail - 'text' - 'subject' - 'note' WHERE developer_id = $1 AND (detail ? 'text' OR detail ? 'subject' OR detail ? 'note') RETURNING step_key`,
    developerId,
  );
  await sql(
    `UPDATE handoffs SET view = jsonb_set(view, '{reason}', '"support ticket"') WHERE developer_id = $1 AND criterion = 'support_ticket' AND view->>'reason' <> 'support ticket'`,
    developerId,
  );
  const notes = await sql(`DELETE FROM handoff_notes WHERE developer_id = $1 RETURNING id`, developerId);
  // The time zone decided quiet hours; the decision keeps the rest of what it was made on.
  const decisions = await sql(`UPDATE nudge_decisions SET inputs = inputs - 'timezone' WHERE developer_id = $1 AND inputs ? 'timezone' RETURNING id`, developerId);
  await sql('DELETE FROM outbox_signals WHERE developer_id = $1', developerId);
  await sql('DELETE FROM email_preferences WHERE developer_id = $1', developerId);
  const closedCases = await closeOpenCases(sql, developerId, author);
  return { redacted: { events: events.length, emails: emails.length, handoffSteps: steps.length, notes: notes.length, nudgeDecisions: decisions.length }, closedCases };
}

/**
 * Closes the developer's open cases as the journey would have: a `resolved` step by the deleter
 * with outcome `developer_deleted` in the case log (with the journey's last snapshot of the case),
 * the read model (queues, metrics) after it.
 */
async function closeOpenCases(sql: Sql, developerId: string, author: string): Promise<CaseView[]> {
  const open = await sql<{ id: string; revision: number; view: CaseView; snapshot: JourneySnapshotSummary | null }>(
    `SELECT id, revision, view, (SELECT snapshot FROM handoff_steps s WHERE s.handoff_id = h.id ORDER BY at DESC, recorded_at DESC LIMIT 1) AS snapshot
       FROM handoffs h WHERE developer_id = $1 AND status IN ('open', 'claimed', 'snoozed') ORDER BY id FOR UPDATE`,
    developerId,
  );
  const [{ now }] = (await sql<{ now: Date }>('SELECT now() AS now')) as [{ now: Date }];
  const at = now.toISOString();
  const steps: HandoffStepRow[] = open.map((c) => {
    const revision = c.revision + 1;
    return {
      developerId,
      stepKey: `${c.id}/${revision}`,
      step: 'resolved',
      actor: author,
      at,
      detail: { outcome: DELETED_OUTCOME, reason: 'the developer was deleted' },
      case: { ...c.view, status: 'resolved', outcome: DELETED_OUTCOME, closedAt: at, claimDueAt: null, snoozedUntil: null },
      revision,
      snapshot: c.snapshot ?? ({} as JourneySnapshotSummary),
    };
  });
  await storeHandoffSteps(sql, steps);
  return steps.map((s) => s.case);
}
