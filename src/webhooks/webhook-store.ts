import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { recordAudit } from '../audit/audit-log.ts';
import { withTransaction } from '../db/sql.ts';
import type { WebhookEventType } from './webhook-events.ts';
import { newWebhookSecret } from './webhook-signing.ts';

export interface WebhookSubscription {
  id: string;
  url: string;
  events: WebhookEventType[];
  description: string | null;
  createdAt: string;
  createdBy: string;
  /** While a rotated-out secret is still signed with. */
  previousSecretExpiresAt: string | null;
  /** Messages waiting (pending) and given up (failed). */
  pending: number;
  failed: number;
  lastDeliveredAt: string | null;
}

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface WebhookDeliveryView {
  id: string;
  type: WebhookEventType;
  developerId: string;
  status: DeliveryStatus;
  attempts: number;
  queuedAt: string;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  payload: unknown;
}

export interface WebhookAttemptView {
  at: string;
  durationMs: number;
  status: number | null;
  error: string | null;
  response: string | null;
}

interface Actor {
  author: string;
  reason?: string | undefined;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Subscriptions (admin-managed, audited) and their delivery log. */
export class WebhookStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(input: { url: string; events: WebhookEventType[]; description?: string | undefined } & Actor): Promise<WebhookSubscription & { secret: string }> {
    const id = `wh_${randomBytes(12).toString('base64url')}`;
    const secret = newWebhookSecret();
    const events = [...new Set(input.events)];
    await withTransaction(this.pool, async (sql) => {
      await sql(
        'INSERT INTO webhook_subscriptions (id, url, event_types, description, secret, created_by) VALUES ($1, $2, $3, $4, $5, $6)',
        id,
        input.url,
        events,
        input.description ?? null,
        secret,
        input.author,
      );
      await recordAudit(sql, { actor: input.author, action: 'webhook.created', subject: id, reason: input.reason ?? null, detail: { url: input.url, events } });
    });
    return { ...(await this.get(id))!, secret };
  }

  async list(): Promise<WebhookSubscription[]> {
    return (await this.pool.query<SubscriptionRow>(`${SUBSCRIPTIONS} ORDER BY s.created_at, s.id`)).rows.map(toSubscription);
  }

  async get(id: string): Promise<WebhookSubscription | undefined> {
    const [row] = (await this.pool.query<SubscriptionRow>(`${SUBSCRIPTIONS} WHERE s.id = $1`, [id])).rows;
    return row && toSubscription(row);
  }

  /** Deletes the subscription and its queue and log; false when there was none. */
  async delete(id: string, actor: Actor): Promise<boolean> {
    return withTransaction(this.pool, async (sql) => {
      const [gone] = await sql<{ url: string }>('DELETE FROM webhook_subscriptions WHERE id = $1 RETURNING url', id);
      if (!gone) return false;
      await recordAudit(sql, { actor: actor.author, action: 'webhook.deleted', subject: id, reason: actor.reason ?? null, detail: { url: gone.url } });
      return true;
    });
  }

  /** A new secret; the old one is signed with too for `overlapMs`, so receivers switch without a gap. */
  async rotateSecret(id: string, overlapMs: number, actor: Actor): Promise<{ secret: string; previousSecretExpiresAt: string } | undefined> {
    const secret = newWebhookSecret();
    return withTransaction(this.pool, async (sql) => {
      const [row] = await sql<{ expires: Date }>(
        `UPDATE webhook_subscriptions SET previous_secret = secret, secret = $2, previous_secret_expires_at = now() + make_interval(secs => $3::float8 / 1000)
          WHERE id = $1 RETURNING previous_secret_expires_at AS expires`,
        id,
        secret,
        overlapMs,
      );
      if (!row) return undefined;
      await recordAudit(sql, {
        actor: actor.author,
        action: 'webhook.secret_rotated',
        subject: id,
        reason: actor.reason ?? null,
        detail: { previousSecretExpiresAt: row.expires.toISOString() },
      });
      return { secret, previousSecretExpiresAt: row.expires.toISOString() };
    });
  }

  /** The delivery log, newest first; `before` is the last `seq` cursor of the previous page. */
  async deliveries(
    subscriptionId: string,
    filter: { status?: DeliveryStatus | undefined; developerId?: string | undefined; limit: number; before?: string | undefined },
  ): Promise<{ deliveries: WebhookDeliveryView[]; next: string | null }> {
    const rows = (
      await this.pool.query<DeliveryRow>(
        `${DELIVERIES} WHERE subscription_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR developer_id = $3)
           AND ($4::bigint IS NULL OR seq < $4) ORDER BY seq DESC LIMIT $5`,
        [subscriptionId, filter.status ?? null, filter.developerId ?? null, filter.before ?? null, filter.limit + 1],
      )
    ).rows;
    const page = rows.slice(0, filter.limit);
    return { deliveries: page.map(toDelivery), next: rows.length > filter.limit ? page.at(-1)!.seq : null };
  }

  async delivery(subscriptionId: string, messageId: string): Promise<(WebhookDeliveryView & { attemptLog: WebhookAttemptView[] }) | undefined> {
    const [row] = (await this.pool.query<DeliveryRow>(`${DELIVERIES} WHERE subscription_id = $1 AND id = $2`, [subscriptionId, messageId])).rows;
    if (!row) return undefined;
    const attempts = await this.pool.query<{ attempted_at: Date; duration_ms: number; status: number | null; error: string | null; response: string | null }>(
      'SELECT attempted_at, duration_ms, status, error, response FROM webhook_attempts WHERE delivery_seq = $1 ORDER BY id',
      [row.seq],
    );
    return {
      ...toDelivery(row),
      attemptLog: attempts.rows.map((a) => ({ at: a.attempted_at.toISOString(), durationMs: a.duration_ms, status: a.status, error: a.error, response: a.response })),
    };
  }

  /**
   * Sends a message again. Delivered or given up: queued as it was (same `webhook-id`, so a receiver
   * that has it can tell), with a fresh retry window. Pending: its next attempt is brought forward
   * to now. Either way its place in its developer's line is unchanged: it goes before anything
   * queued after it. Undefined when there is no such message.
   */
  async redeliver(subscriptionId: string, messageId: string): Promise<WebhookDeliveryView | undefined> {
    const [row] = (
      await this.pool.query<DeliveryRow>(
        `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), delivered_at = NULL,
                queued_at = CASE WHEN status = 'pending' THEN queued_at ELSE now() END
          WHERE subscription_id = $1 AND id = $2
          RETURNING seq::text, id, type, developer_id, status, attempts, queued_at, next_attempt_at, delivered_at, last_status, last_error, payload`,
        [subscriptionId, messageId],
      )
    ).rows;
    return row && toDelivery(row);
  }
}

interface SubscriptionRow {
  id: string;
  url: string;
  event_types: WebhookEventType[];
  description: string | null;
  created_at: Date;
  created_by: string;
  previous_secret_expires_at: Date | null;
  pending: number;
  failed: number;
  last_delivered_at: Date | null;
}

const SUBSCRIPTIONS = `
  SELECT s.id, s.url, s.event_types, s.description, s.created_at, s.created_by,
         CASE WHEN s.previous_secret_expires_at > now() THEN s.previous_secret_expires_at END AS previous_secret_expires_at,
         (SELECT count(*)::int FROM webhook_deliveries d WHERE d.status = 'pending' AND d.subscription_id = s.id) AS pending,
         (SELECT count(*)::int FROM webhook_deliveries d WHERE d.status = 'failed' AND d.subscription_id = s.id) AS failed,
         (SELECT max(delivered_at) FROM webhook_deliveries d WHERE d.status = 'delivered' AND d.subscription_id = s.id) AS last_delivered_at
    FROM webhook_subscriptions s`;

function toSubscription(row: SubscriptionRow): WebhookSubscription {
  return {
    id: row.id,
    url: row.url,
    events: row.event_types,
    description: row.description,
    createdAt: row.created_at.toISOString(),
    createdBy: row.created_by,
    previousSecretExpiresAt: iso(row.previous_secret_expires_at),
    pending: row.pending,
    failed: row.failed,
    lastDeliveredAt: iso(row.last_delivered_at),
  };
}

interface DeliveryRow {
  seq: string;
  id: string;
  type: WebhookEventType;
  developer_id: string;
  status: DeliveryStatus;
  attempts: number;
  queued_at: Date;
  next_attempt_at: Date;
  delivered_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  payload: unknown;
}

const DELIVERIES = `SELECT seq::text, id, type, developer_id, status, attempts, queued_at, next_attempt_at, delivered_at, last_status, last_error, payload FROM webhook_deliveries`;

function toDelivery(row: DeliveryRow): WebhookDeliveryView {
  return {
    id: row.id,
    type: row.type,
    developerId: row.developer_id,
    status: row.status,
    attempts: row.attempts,
    queuedAt: row.queued_at.toISOString(),
    nextAttemptAt: row.status === 'pending' ? row.next_attempt_at.toISOString() : null,
    deliveredAt: iso(row.delivered_at),
    lastStatus: row.last_status,
    lastError: row.last_error,
    payload: row.payload,
  };
}
