import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { pino, type Logger } from 'pino';
import { AlertEvaluator, type AlertEvaluatorOptions } from '../alerts/alert-evaluator.ts';
import { AlertsStore } from '../rules/alerts-store.ts';
import { buildApp, type AppDeps, type OnrampApp } from '../api/build-app.ts';
import type { Database } from '../db/database.ts';
import { createEventIngestor, type EventIngestor } from '../ingest/event-ingestor.ts';
import { OutboxDispatcher, type OutboxDispatcherOptions } from '../ingest/outbox-dispatcher.ts';
import { funnelInForceCache } from '../funnel/funnel-in-force-cache.ts';
import type { ReadFunnelInForce } from '../funnel/funnel-in-force.ts';
import { RuleStore } from '../rules/rule-store.ts';
import { WebhookDispatcher, type WebhookDispatcherOptions } from '../webhooks/webhook-dispatcher.ts';
import { WebhookTransport, type WebhookTransportOptions } from '../webhooks/send-webhook.ts';
import { createJourneyWorker, type JourneyWorkerOptions } from './journey-worker.ts';
import type { RawRequestWindow } from '../retention/raw-request-window.ts';
import { ensureRetentionSchedule } from '../temporal/retention-schedule.ts';

export interface AssemblyOptions {
  db: Database;
  /** The dispatcher's, the API's and the worker's failures (default: silent). */
  logger?: Logger;
  /** The journey worker with its activities, running until `stop()`. */
  worker?: Omit<JourneyWorkerOptions, 'pool' | 'funnelInForce'>;
  /** The client the outbox dispatcher signals the journeys with: given, the ingestor and the dispatcher are assembled. */
  temporal?: Client;
  /** `run: false`: the dispatcher is not started; the caller delivers rounds itself (`deliverOnce`). */
  dispatcher?: Omit<OutboxDispatcherOptions, 'prisma' | 'temporal' | 'logger'> & { run?: boolean };
  /** The HTTP API (needs `temporal`), storing events with the assembly's ingestor and waking its dispatcher. */
  api?: Omit<AppDeps, 'db' | 'temporal' | 'logger' | 'onSignalsQueued' | 'ingestor' | 'funnel' | 'webhooks'>;
  /**
   * Outgoing webhooks, delivered by a dispatcher beside the API (every API process runs one; they
   * share the queue). `run: false`: not started; the caller delivers rounds itself (`deliverDue`).
   */
  webhooks?: Omit<WebhookDispatcherOptions, 'pool' | 'logger' | 'transport'> & WebhookTransportOptions & { run?: boolean };
  /**
   * The alerts, evaluated beside the API every `everyMs` (every API process evaluates; rounds are
   * serialised and idempotent). `run: false`: not started; the caller evaluates itself (`evaluate`).
   */
  alerts?: Pick<AlertEvaluatorOptions, 'slack' | 'publicUrl' | 'now'> & { everyMs: number; run?: boolean };
  /**
   * Storage bounded by onboarding (docs/concepts/storage.md): the raw-request window the ingest and
   * the retention rounds apply (the default's otherwise); with `retentionEveryMs` and `temporal`,
   * the retention Schedule is ensured at that interval.
   */
  storage?: { rawRequestWindow?: RawRequestWindow; retentionEveryMs?: number };
}

/**
 * What was assembled: the parts the options asked for, the process's one cache of the funnel in
 * force (for the parts that read the stage list), and one `stop()` for all of them.
 */
export type Onramp<O extends AssemblyOptions> = { stop(): Promise<void>; funnelInForce: ReadFunnelInForce } & (O extends { worker: object } ? { worker: Worker } : unknown) &
  (O extends { temporal: Client } ? { ingestor: EventIngestor; dispatcher: OutboxDispatcher } : unknown) &
  (O extends { api: object } ? { app: OnrampApp; webhooks: WebhookDispatcher } : unknown) &
  (O extends { api: object; alerts: object } ? { alerts: AlertEvaluator } : unknown);

/**
 * Puts Onramp together: the journey worker, the ingestor with the outbox dispatcher that carries
 * what it queues to the journeys, and the HTTP API on both (with the alerts beside it). Every process assembles through here
 * (the CLI's api, worker and start, the rule preview, the tests, the bench); each passes the
 * connections it made (a dev server, the production one, the time-skipping test server) and keeps
 * closing them. `stop()` stops in reverse: requests in flight finish, undelivered rows stay in the
 * outbox, workflow tasks in flight finish.
 */
export async function assembleOnramp<O extends AssemblyOptions>(options: O): Promise<Onramp<O>> {
  const { db, temporal } = options;
  const logger = options.logger ?? pino({ level: 'silent' });
  if (options.api && !temporal) throw new Error('the API needs a Temporal client');
  const funnelInForce = funnelInForceCache(db.pool);
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  if (options.worker) {
    const rawRequestWindow = options.storage?.rawRequestWindow;
    worker = await createJourneyWorker({ ...options.worker, pool: db.pool, funnelInForce, ...(rawRequestWindow && { rawRequestWindow }) });
    running = worker.run();
    running.catch((error: unknown) => logger.error({ err: error }, 'worker stopped'));
  }
  const stopWorker = async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown(); // lets tasks in flight finish
    await running;
  };
  let ingestor: EventIngestor | undefined;
  let dispatcher: OutboxDispatcher | undefined;
  let app: OnrampApp | undefined;
  let webhooks: WebhookDispatcher | undefined;
  let transport: WebhookTransport | undefined;
  let alerts: AlertEvaluator | undefined;
  if (temporal) {
    try {
      const { run = true, ...dispatcherOptions } = options.dispatcher ?? {};
      const { rawRequestWindow, retentionEveryMs } = options.storage ?? {};
      ingestor = createEventIngestor(db.pool, {
        rules: new RuleStore(db.pool),
        ...(options.api?.sdkUserAgents ? { sdkUserAgents: options.api.sdkUserAgents } : {}),
        ...(rawRequestWindow && { rawRequestWindow }),
      });
      if (retentionEveryMs !== undefined) await ensureRetentionSchedule(temporal, retentionEveryMs);
      const outbox = new OutboxDispatcher({ ...dispatcherOptions, prisma: db.prisma, temporal, logger });
      dispatcher = outbox;
      if (options.api) {
        const { run: runWebhooks = true, allowedAddresses = [], timeoutMs, ...webhookOptions } = options.webhooks ?? {};
        transport = new WebhookTransport({ allowedAddresses, ...(timeoutMs ? { timeoutMs } : {}) });
        const dispatcher = new WebhookDispatcher({ ...webhookOptions, pool: db.pool, logger, transport });
        webhooks = dispatcher;
        app = await buildApp({
          ...options.api,
          db,
          temporal,
          logger,
          ingestor,
          funnel: funnelInForce,
          onSignalsQueued: () => outbox.wake(),
          webhooks: { allowedAddresses, onQueued: () => dispatcher.wake() },
        });
        if (runWebhooks) dispatcher.start();
        if (options.alerts) {
          const { everyMs, run: runAlerts = true, ...alertOptions } = options.alerts;
          alerts = new AlertEvaluator({ ...alertOptions, pool: db.pool, store: new AlertsStore(db.pool), funnel: funnelInForce, logger });
          if (runAlerts) alerts.start(everyMs);
        }
      }
      if (run) outbox.start();
    } catch (error) {
      transport?.close();
      await stopWorker().catch(() => undefined);
      throw error;
    }
  }
  const assembled = {
    funnelInForce,
    ...(worker ? { worker } : {}),
    ...(ingestor && dispatcher ? { ingestor, dispatcher } : {}),
    ...(app ? { app, webhooks } : {}),
    ...(alerts ? { alerts } : {}),
    async stop() {
      await alerts?.stop(); // the round in flight finishes
      await app?.close(); // finishes requests in flight
      await dispatcher?.stop(); // what is left stays in the outbox
      transport?.close(); // ends attempts in flight (each is retried later) rather than waiting out their timeouts
      await webhooks?.stop(); // what is left stays queued
      await stopWorker();
    },
  };
  return assembled as Onramp<O>;
}
