import type { Sql } from '../db/sql.ts';

/** What a subscription can hear: the facts Onramp records, named as the receiver sees them. */
export const WEBHOOK_EVENT_TYPES = [
  'stage.reached',
  'nudge.sent',
  'nudge.skipped',
  'handoff.opened',
  'handoff.claimed',
  'handoff.resolved',
  'developer.deleted',
  'alert.fired',
  'alert.resolved',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** One fact to tell the subscriptions that hear its type. */
export interface WebhookEvent {
  type: WebhookEventType;
  /** The developer it is about; '' for a fact about none (an alert): the queue delivers in order per developer. */
  developerId: string;
  /** Names the fact: one message per fact and subscription however often it is recorded. */
  key: string;
  /** When the fact happened (the payload's `timestamp`). */
  occurredAt: string;
  data: Record<string, unknown>;
}

/** A timestamptz as the payloads write times: ISO 8601 in UTC with milliseconds, like JavaScript's. */
export const isoSql = (expr: string) => `to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The statement that queues one message per subscription hearing each event of `source`, a
 * query yielding (type, developer_id, event_key, occurred_at, data). It runs inside the statement or
 * transaction that records the facts, so a message exists exactly when its fact does; the
 * receiver's state never delays the recording. With no subscriptions it queues nothing.
 */
export function queueWebhooksSql(source: string): string {
  return `INSERT INTO webhook_deliveries (id, subscription_id, developer_id, type, event_key, payload)
    SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), s.id, e.developer_id, e.type, e.event_key,
           jsonb_build_object('type', e.type, 'timestamp', ${isoSql('e.occurred_at')}, 'data', e.data)
      FROM (${source}) AS e(type, developer_id, event_key, occurred_at, data)
      JOIN webhook_subscriptions s ON e.type = ANY(s.event_types)
     ORDER BY e.occurred_at, e.event_key
    ON CONFLICT (subscription_id, event_key) DO NOTHING`;
}

/** Queues the events in the caller's transaction (see queueWebhooksSql). */
export async function queueWebhookEvents(sql: Sql, events: readonly WebhookEvent[]): Promise<void> {
  if (events.length === 0) return;
  await sql(
    queueWebhooksSql('SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[])'),
    events.map((e) => e.type),
    events.map((e) => e.developerId),
    events.map((e) => e.key),
    events.map((e) => e.occurredAt),
    events.map((e) => JSON.stringify(e.data)),
  );
}
