import type pg from 'pg';
import type { Logger } from 'pino';
import { PollingLoop } from '../db/polling-loop.ts';
import { withTransaction, type Sql } from '../db/sql.ts';
import type { ReadFunnelInForce } from '../funnel/funnel-in-force.ts';
import { permanentSlackErrorCode, type SlackGateway } from '../slack/slack-gateway.ts';
import { queueWebhookEvents, type WebhookEvent } from '../webhooks/webhook-events.ts';
import { conditionKey, type AlertCondition } from './alert-condition.ts';
import { alertMessage, dashboardLink } from './alert-message.ts';
import { ALERT_COLUMNS, type AlertRow } from './alert-row.ts';
import type { AlertsDocument } from '../rules/alerts-schema.ts';
import type { AlertsStore } from '../rules/alerts-store.ts';
import { conversionBelowBand, measureConversion } from './conversion-below-band.ts';
import { endpointErrorSpike, measureEndpointErrors } from './endpoint-error-spike.ts';
import { measureSources, sourceSilent } from './source-silent.ts';
import { measureTtfac, ttfacTail } from './ttfac-tail.ts';

export interface AlertEvaluatorOptions {
  pool: pg.Pool;
  store: AlertsStore;
  funnel: ReadFunnelInForce;
  /** Where the dashboard links point (ONRAMP_PUBLIC_URL). */
  publicUrl: string;
  /** Absent (no SLACK_BOT_TOKEN): alerts are recorded and sent to webhooks, never posted. */
  slack?: SlackGateway | undefined;
  logger: Logger;
  /** The instant evaluated (tests move it). */
  now?: () => Date;
}

export interface EvaluationResult {
  fired: number;
  cleared: number;
  posted: number;
}

/** How long a process may take to post one message before another may try (found by its post key, not posted twice). */
const POST_LEASE = '2 minutes';

/**
 * Runs the detectors of the alerts document in force and keeps the `alerts` table in step: a
 * condition seen for the first time fires (a row, an `alert.fired` webhook event in the same
 * transaction, then one Slack message); one still seen changes nothing; one no longer seen clears
 * (`alert.resolved`). Idempotent: rounds are serialised across processes by an advisory lock, one
 * open row per condition is a unique key, and a message is posted under a lease and found by its
 * post key before any retry posts it, so a crash between the post and its bookkeeping posts once.
 */
export class AlertEvaluator {
  private readonly now: () => Date;
  private loop: PollingLoop | undefined;

  constructor(private readonly options: AlertEvaluatorOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Evaluates every `intervalMs` until `stop()`: a loop beside the API, like the webhook dispatcher,
   * rather than a Temporal Schedule. A round is idempotent and serialised by its lock, so running it
   * in every API process needs no workflow (nor its replay tests) and no worker for the alerts.
   */
  start(intervalMs: number): void {
    this.loop ??= new PollingLoop(
      async () => {
        await this.evaluate();
        return 0;
      },
      intervalMs,
      (error) => this.options.logger.error({ err: error }, 'alert evaluation failed; it is tried again next round'),
    );
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }

  /** One round: detect, record what fired and what cleared, post what is due. */
  async evaluate(): Promise<EvaluationResult> {
    const inForce = await this.options.store.active();
    if (!inForce) return { fired: 0, cleared: 0, posted: 0 };
    const config = inForce.document;
    const now = this.now();
    const conditions = await this.detect(config, now);
    const { fired, cleared } = await withTransaction(this.options.pool, (sql) => this.record(sql, config, conditions, now));
    const posted = await this.postDue();
    return { fired, cleared, posted };
  }

  /** Every condition that holds now, of the kinds enabled. */
  private async detect(config: AlertsDocument, now: Date): Promise<AlertCondition[]> {
    const { pool } = this.options;
    const found: AlertCondition[] = [];
    if (config.conversionBelowBand.enabled) {
      found.push(...conversionBelowBand(await measureConversion(pool, await this.options.funnel(), config.conversionBelowBand, now), config.conversionBelowBand));
    }
    if (config.ttfacTail.enabled) found.push(...ttfacTail(await measureTtfac(pool, await this.options.funnel(), config.ttfacTail, now), config.ttfacTail, now));
    if (config.endpointErrorSpike.enabled) found.push(...endpointErrorSpike(await measureEndpointErrors(pool, config.endpointErrorSpike, now), config.endpointErrorSpike));
    if (config.sourceSilent.enabled) found.push(...sourceSilent(await measureSources(pool), config.sourceSilent, now));
    return found;
  }

  private async record(sql: Sql, config: AlertsDocument, conditions: readonly AlertCondition[], now: Date): Promise<{ fired: number; cleared: number }> {
    await sql(`SELECT pg_advisory_xact_lock(hashtext('onramp.alerts'))`);
    const channel = this.options.slack ? (config.slack?.channel ?? null) : null;
    const fired = await sql<AlertRow>(
      `INSERT INTO alerts (kind, subject, period, detail, link, fired_at, open_key, slack_channel)
       SELECT kind, subject, period, detail, link, $7, open_key, $8 FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[])
           AS c(kind, subject, period, detail, link, open_key)
       ON CONFLICT (open_key) DO NOTHING
       RETURNING ${ALERT_COLUMNS}`,
      conditions.map((c) => c.kind),
      conditions.map((c) => c.subject),
      conditions.map((c) => c.period),
      conditions.map((c) => JSON.stringify({ summary: c.summary, ...c.detail })),
      conditions.map((c) => dashboardLink(this.options.publicUrl, c.view)),
      conditions.map(conditionKey),
      now,
      channel,
    );
    const cleared = await sql<AlertRow>(
      `UPDATE alerts SET cleared_at = $2, open_key = NULL WHERE open_key IS NOT NULL AND NOT (open_key = ANY($1::text[]))
       RETURNING ${ALERT_COLUMNS}`,
      conditions.map(conditionKey),
      now,
    );
    if (config.webhooks) await queueWebhookEvents(sql, [...fired.map((a) => webhookEvent('alert.fired', a)), ...cleared.map((a) => webhookEvent('alert.resolved', a))]);
    return { fired: fired.length, cleared: cleared.length };
  }

  /** Posts the open alerts not posted yet, each under a lease; a failure is retried next round, unless Slack refused the message for good. */
  private async postDue(): Promise<number> {
    const { slack, pool, logger } = this.options;
    if (!slack) return 0;
    const { rows } = await pool.query<AlertRow>(
      `UPDATE alerts SET slack_leased_until = now() + interval '${POST_LEASE}'
        WHERE id IN (SELECT id FROM alerts WHERE slack_channel IS NOT NULL AND slack_ts IS NULL AND slack_error IS NULL AND cleared_at IS NULL
                        AND (slack_leased_until IS NULL OR slack_leased_until < now()) ORDER BY id FOR UPDATE SKIP LOCKED)
        RETURNING ${ALERT_COLUMNS}`,
    );
    let posted = 0;
    for (const alert of rows.sort((a, b) => Number(a.id) - Number(b.id))) {
      try {
        const message = await slack.postAlertOnce(alert.slack_channel!, alertMessage(alert), `alert/${alert.id}`);
        await pool.query('UPDATE alerts SET slack_ts = $2, slack_leased_until = NULL WHERE id = $1', [alert.id, message.ts]);
        posted++;
      } catch (error) {
        const refused = permanentSlackErrorCode(error);
        if (refused === undefined) {
          logger.warn({ err: error, alert: alert.id, channel: alert.slack_channel }, 'alert not posted to Slack; tried again next round');
          continue;
        }
        // Retrying a bad channel or token every round would only repeat this: the row says why, once.
        await pool.query('UPDATE alerts SET slack_error = $2, slack_leased_until = NULL WHERE id = $1', [alert.id, refused]);
        logger.error({ err: error, alert: alert.id, channel: alert.slack_channel }, `Slack refused the alert's message (${refused}); it is not posted again`);
      }
    }
    return posted;
  }
}

function webhookEvent(type: 'alert.fired' | 'alert.resolved', alert: AlertRow): WebhookEvent {
  return {
    type,
    developerId: '',
    key: `${type}/${alert.id}`,
    occurredAt: (type === 'alert.fired' ? alert.fired_at : alert.cleared_at!).toISOString(),
    data: {
      alertId: alert.id,
      kind: alert.kind,
      subject: alert.subject,
      period: alert.period,
      link: alert.link,
      firedAt: alert.fired_at.toISOString(),
      ...(alert.cleared_at ? { clearedAt: alert.cleared_at.toISOString() } : {}),
      detail: alert.detail,
    },
  };
}
