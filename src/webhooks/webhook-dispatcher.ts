import type pg from 'pg';
import type { Logger } from 'pino';
import { forEachConcurrently, PollingLoop } from '../db/polling-loop.ts';
import { signWebhook } from './webhook-signing.ts';
import type { WebhookTransport } from './send-webhook.ts';

export interface WebhookDispatcherOptions {
  pool: pg.Pool;
  transport: WebhookTransport;
  logger: Logger;
  /** Messages claimed per round (at most one per subscription and developer). */
  batchSize?: number;
  /** Attempts in flight at once. */
  concurrency?: number;
  /** Idle poll interval. */
  pollIntervalMs?: number;
  /** How long a claimed message stays invisible to other dispatchers (longer than an attempt can take). */
  leaseSeconds?: number;
  /** How long a message is retried, counted from when it was queued (or redelivered). */
  retryForMs?: number;
  /** The wait after the n-th failed attempt (the last entry repeats); ±20% jitter is added. */
  retryScheduleMs?: readonly number[];
  /** How long the log keeps a delivered or given-up message (and its attempts). */
  logRetentionMs?: number;
}

/** After 5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h: the schedule Standard Webhooks' authors (Svix) use. */
export const DEFAULT_RETRY_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000] as const;
export const DEFAULT_RETRY_FOR_MS = 24 * 3_600_000;
export const DEFAULT_LOG_RETENTION_MS = 30 * 24 * 3_600_000;
/** How often a dispatcher prunes the log. */
const PRUNE_EVERY_MS = 3_600_000;

interface ClaimedMessage {
  seq: string;
  id: string;
  subscription_id: string;
  payload: unknown;
  attempts: number;
  url: string;
  secret: string;
  previous_secret: string | null;
}

/**
 * Delivers the queued webhooks: at least once, in order per subscription and developer (only the
 * oldest pending message of each line is ever attempted, so a failing one holds the line back until
 * it is delivered or given up), with retries on the schedule for a day. The queue is a table written
 * in the facts' own transactions, so a receiver's outage delays only its own messages.
 */
export class WebhookDispatcher {
  private readonly loop: PollingLoop;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly leaseSeconds: number;
  private readonly retryForMs: number;
  private readonly schedule: readonly number[];
  private readonly logRetentionMs: number;
  private prunedAt = 0;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.batchSize = options.batchSize ?? 64;
    this.concurrency = options.concurrency ?? 8;
    this.leaseSeconds = options.leaseSeconds ?? 60;
    this.retryForMs = options.retryForMs ?? DEFAULT_RETRY_FOR_MS;
    this.schedule = options.retryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS;
    this.logRetentionMs = options.logRetentionMs ?? DEFAULT_LOG_RETENTION_MS;
    this.loop = new PollingLoop(
      () => this.round(),
      options.pollIntervalMs ?? 250,
      (error) => options.logger.error({ err: error }, 'webhook dispatch failed; retrying'),
    );
  }

  start(): void {
    this.loop.start();
  }

  /** Stops after the attempts in flight; what is left stays queued for the next start. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Cuts the idle wait short (a redelivery was asked for). */
  wake(): void {
    this.loop.wake();
  }

  /** One round: claims the due heads of line and attempts them. Returns how many it attempted. */
  async deliverDue(): Promise<number> {
    const claimed = (await this.options.pool.query<ClaimedMessage>(CLAIM, [this.batchSize, this.leaseSeconds])).rows;
    await forEachConcurrently(claimed, this.concurrency, (message) => this.attempt(message));
    return claimed.length;
  }

  /**
   * Deletes delivered and given-up messages older than the retention (their attempts go with them),
   * a batch at a time, so the log grows with recent facts rather than with all of history.
   * Returns how many it deleted.
   */
  async pruneLog(): Promise<number> {
    let deleted = 0;
    for (;;) {
      const { rowCount } = await this.options.pool.query(PRUNE, [this.logRetentionMs]);
      deleted += rowCount ?? 0;
      if ((rowCount ?? 0) < PRUNE_BATCH) return deleted;
    }
  }

  /** Prunes the log once an hour, then delivers what is due. */
  private async round(): Promise<number> {
    if (Date.now() - this.prunedAt >= PRUNE_EVERY_MS) {
      this.prunedAt = Date.now();
      await this.pruneLog();
    }
    return this.deliverDue();
  }

  private async attempt(message: ClaimedMessage): Promise<void> {
    const body = JSON.stringify(message.payload);
    const headers = signWebhook(message.id, new Date(), body, { secret: message.secret, previous: message.previous_secret });
    const result = await this.options.transport.post(message.url, headers, body);
    const delivered = result.status !== undefined && result.status >= 200 && result.status < 300;
    try {
      await this.options.pool.query(RECORD_ATTEMPT, [
        message.seq,
        result.durationMs,
        result.status ?? null,
        result.error ?? null,
        result.response ?? null,
        delivered,
        this.retryForMs,
        delivered ? 0 : this.backoffMs(message.attempts),
      ]);
    } catch (error) {
      this.options.logger.error({ err: error, webhookId: message.id }, 'could not record a webhook attempt; it will be attempted again');
    }
    if (!delivered) this.options.logger.warn({ webhookId: message.id, url: message.url, attempt: message.attempts, error: result.error }, 'webhook not delivered');
  }

  private backoffMs(attempts: number): number {
    const base = this.schedule[Math.min(attempts, this.schedule.length) - 1] ?? this.schedule.at(-1)!;
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }
}

/** $1 batch size, $2 lease seconds. The re-check in the UPDATE keeps two dispatchers from claiming one message. */
const CLAIM = `
  WITH heads AS (
    SELECT DISTINCT ON (subscription_id, developer_id) seq, next_attempt_at, leased_until
      FROM webhook_deliveries WHERE status = 'pending'
     ORDER BY subscription_id, developer_id, seq),
  due AS (
    SELECT seq FROM heads WHERE next_attempt_at <= now() AND (leased_until IS NULL OR leased_until < now())
     ORDER BY next_attempt_at, seq LIMIT $1),
  claimed AS (
    UPDATE webhook_deliveries d SET leased_until = now() + make_interval(secs => $2::float8), attempts = d.attempts + 1
      FROM due WHERE d.seq = due.seq AND d.status = 'pending' AND (d.leased_until IS NULL OR d.leased_until < now())
    RETURNING d.seq, d.id, d.subscription_id, d.payload, d.attempts)
  SELECT c.seq::text, c.id, c.subscription_id, c.payload, c.attempts, s.url, s.secret,
         CASE WHEN s.previous_secret_expires_at > now() THEN s.previous_secret END AS previous_secret
    FROM claimed c JOIN webhook_subscriptions s ON s.id = c.subscription_id`;

/**
 * $1 seq, $2–$5 the attempt, $6 delivered, $7 retry window (ms), $8 wait before the next attempt (ms).
 * A failed message is given up once its window has passed; the last attempt falls at the window's end.
 */
const RECORD_ATTEMPT = `
  WITH attempt AS (
    INSERT INTO webhook_attempts (delivery_seq, duration_ms, status, error, response)
    SELECT seq, $2::int, $3::int, $4::text, $5::text FROM webhook_deliveries WHERE seq = $1)
  UPDATE webhook_deliveries SET
    leased_until = NULL, last_status = $3::int, last_error = $4::text,
    status = CASE WHEN $6::boolean THEN 'delivered' WHEN now() >= queued_at + make_interval(secs => $7::float8 / 1000) THEN 'failed' ELSE 'pending' END,
    delivered_at = CASE WHEN $6::boolean THEN now() END,
    next_attempt_at = CASE WHEN $6::boolean THEN next_attempt_at
                           ELSE least(now() + make_interval(secs => $8::float8 / 1000), queued_at + make_interval(secs => $7::float8 / 1000)) END
  WHERE seq = $1`;

const PRUNE_BATCH = 1000;

/** $1 retention (ms). Pending messages are never pruned, however old. */
const PRUNE = `
  DELETE FROM webhook_deliveries WHERE seq IN (
    SELECT seq FROM webhook_deliveries
     WHERE status IN ('delivered', 'failed') AND queued_at < now() - make_interval(secs => $1::float8 / 1000)
     LIMIT ${PRUNE_BATCH})`;
