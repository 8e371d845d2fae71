import type { Sql } from '../db/sql.ts';
import type { HandoffStepEffect, HandoffStepKind } from '../journey/journey-effects.ts';
import { queueWebhooksSql, type WebhookEventType } from '../webhooks/webhook-events.ts';
import { slaStateOf } from './case-context.ts';

/** A case's step as the log keeps it: what the journey's effect carries (a deletion closing a case writes one too). */
export type HandoffStepRow = Omit<HandoffStepEffect, 'type'>;

/**
 * Appends steps to the case log (handoff_steps, idempotent by step key) and brings each case's
 * read model (handoffs: queues, metrics) to its newest step; a read model is only ever replaced
 * by a later revision, so steps stored late or twice change nothing.
 */
export async function storeHandoffSteps(sql: Sql, steps: readonly HandoffStepRow[]): Promise<void> {
  if (steps.length === 0) return;
  const latest = new Map<string, HandoffStepRow>();
  for (const s of steps) if ((latest.get(s.case.id)?.revision ?? -1) < s.revision) latest.set(s.case.id, s);
  await sql(
    `WITH stored AS (
       INSERT INTO handoff_steps (step_key, handoff_id, developer_id, step, actor, at, detail, snapshot)
       SELECT k, h, d, s, a, at, de::jsonb, sn::jsonb
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[]) AS u(k, h, d, s, a, at, de, sn)
       ON CONFLICT (step_key) DO NOTHING
       RETURNING step_key, developer_id, at)
     ${queueWebhooksSql(`
       SELECT w.type, s.developer_id, 'handoff/' || s.step_key, s.at, w.data
         FROM stored s JOIN unnest($1::text[], $9::text[], $10::jsonb[]) AS w(k, type, data) ON w.k = s.step_key
        WHERE w.type IS NOT NULL`)}`,
    steps.map((s) => s.stepKey),
    steps.map((s) => s.case.id),
    steps.map((s) => s.developerId),
    steps.map((s) => s.step),
    steps.map((s) => s.actor),
    steps.map((s) => s.at),
    steps.map((s) => JSON.stringify(s.detail)),
    steps.map((s) => JSON.stringify(s.snapshot)),
    steps.map((s) => WEBHOOK_TYPES[s.step] ?? null),
    steps.map((s) => JSON.stringify(webhookData(s))),
  );
  for (const { case: c, revision, developerId } of latest.values()) {
    await sql(
      `INSERT INTO handoffs (id, developer_id, status, criterion, owner, level, opened_at, claimed_at, closed_at, outcome, friction, sla_breached, due_at, revision, view, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb, now())
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, owner = excluded.owner, level = excluded.level, claimed_at = excluded.claimed_at,
         closed_at = excluded.closed_at, outcome = excluded.outcome, friction = excluded.friction, sla_breached = excluded.sla_breached, due_at = excluded.due_at, revision = excluded.revision,
         view = excluded.view, updated_at = now()
       WHERE handoffs.revision < excluded.revision`,
      c.id,
      developerId,
      c.status,
      c.criterion,
      c.owner,
      c.level,
      c.openedAt,
      c.claimedAt,
      c.closedAt,
      c.outcome,
      c.friction ?? null,
      c.breaches.length > 0,
      slaStateOf(c).dueAt,
      revision,
      JSON.stringify(c),
    );
  }
}

/** The steps a webhook tells of: a case opened (its first escalation), claimed, resolved. */
const WEBHOOK_TYPES: Partial<Record<HandoffStepKind, WebhookEventType>> = { escalated: 'handoff.opened', claimed: 'handoff.claimed', resolved: 'handoff.resolved' };

/** The case as a receiver sees it: no notes or ticket text (personal data stays in Onramp). */
function webhookData({ case: c, developerId, step, actor, at }: HandoffStepRow): Record<string, unknown> {
  return {
    developerId,
    caseId: c.id,
    step,
    actor,
    at,
    status: c.status,
    criterion: c.criterion,
    ...(c.criterion === 'support_ticket' ? {} : { reason: c.reason }),
    level: c.level,
    owner: c.owner,
    openedAt: c.openedAt,
    outcome: c.outcome,
    ...(c.friction ? { friction: c.friction } : {}),
  };
}
