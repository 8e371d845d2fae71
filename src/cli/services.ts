import { readSegmentMapping } from '../sources/segment/segment-mapping.ts';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import { publicUrl, rawRequestWindow, type Config } from '../config.ts';
import { openDatabase, type Database } from '../db/database.ts';
import { assembleOnramp } from '../assembly/assemble-onramp.ts';
import { installTemporalRuntime } from '../temporal/install-runtime.ts';
import { handoffActivityDeps, slackGateway } from './handoff-deps.ts';
import { nudgeActivityDeps, signingSecret } from './nudge-deps.ts';

/** The pieces a process is made of; `start` runs both in one process, `api` and `worker` one each. */

export interface Stoppable {
  stop(): Promise<void>;
}

export interface ApiServiceOptions {
  /** Everything else the API takes from the environment: agent and metrics keys, Slack, SDK user agents, templates, host and port. */
  config: Config;
  db: Database;
  temporalAddress: string;
  logger: Logger;
  ingestKeys: string[];
  /** Admin keys (rules endpoints); empty: they answer 401. */
  adminKeys: string[];
}

/** HTTP API plus the outbox dispatcher that delivers its signals. */
export async function startApiService(options: ApiServiceOptions): Promise<Stoppable & { url: string }> {
  const { config } = options;
  const connection = await Connection.connect({ address: options.temporalAddress });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const gateway = slackGateway(config, options.logger);
  const metricsDb = config.ONRAMP_METRICS_DATABASE_URL ? openDatabase(config.ONRAMP_METRICS_DATABASE_URL, { max: config.ONRAMP_DATABASE_CONNECTIONS }) : undefined;
  const onramp = await assembleOnramp({
    db: options.db,
    logger: options.logger,
    temporal,
    dispatcher: { concurrency: config.ONRAMP_DISPATCH_CONCURRENCY, maxTaskBacklog: config.ONRAMP_DISPATCH_MAX_BACKLOG },
    webhooks: { allowedAddresses: config.ONRAMP_WEBHOOK_ALLOWED_ADDRESSES, retryForMs: config.ONRAMP_WEBHOOK_RETRY_FOR, logRetentionMs: config.ONRAMP_WEBHOOK_LOG_RETENTION },
    alerts: { slack: gateway, publicUrl: publicUrl(config), everyMs: config.ONRAMP_ALERTS_EVERY },
    storage: { rawRequestWindow: rawRequestWindow(config), retentionEveryMs: config.ONRAMP_RETENTION_EVERY },
    api: {
      ...(metricsDb && { metricsDb }),
      ingestKeys: options.ingestKeys,
      adminKeys: options.adminKeys,
      agentKeys: config.ONRAMP_AGENT_KEY ? [config.ONRAMP_AGENT_KEY] : [],
      metricsKeys: config.ONRAMP_METRICS_KEY ? [config.ONRAMP_METRICS_KEY] : [],
      sdkUserAgents: config.ONRAMP_SDK_USER_AGENTS ?? [],
      templatesDir: config.ONRAMP_TEMPLATES_DIR,
      emails: { publicUrl: publicUrl(config), docsUrl: config.ONRAMP_DOCS_URL, from: config.ONRAMP_MAIL_FROM },
      segmentMapping: readSegmentMapping(config.ONRAMP_SEGMENT_MAPPING),
      clerkSigningSecret: config.ONRAMP_CLERK_WEBHOOK_SECRET,
      emailEvents: {
        sendgridPublicKey: config.ONRAMP_SENDGRID_WEBHOOK_PUBLIC_KEY,
        sesTopicArns: config.ONRAMP_SES_TOPIC_ARNS ?? [],
        snsCertHosts: config.ONRAMP_SNS_CERT_HOSTS ?? [],
      },
      sources: { silentAfter: config.ONRAMP_SOURCE_SILENT_AFTER },
      signingSecret: signingSecret(config),
      slack: { ...(config.SLACK_SIGNING_SECRET ? { signingSecret: config.SLACK_SIGNING_SECRET } : {}), ...(gateway ? { gateway } : {}), publicUrl: publicUrl(config) },
    },
  });
  const address = await onramp.app.listen({ host: config.HOST, port: config.PORT });
  return {
    url: address.replace('0.0.0.0', 'localhost').replace('[::]', 'localhost'),
    async stop() {
      await onramp.stop();
      await metricsDb?.close();
      await connection.close();
    },
  };
}

export interface WorkerServiceOptions {
  config: Config;
  db: Database;
  temporalAddress: string;
  logger: Logger;
}

/** The journey worker (with the nudge and handoff activities the environment configures). */
export async function startWorkerService(options: WorkerServiceOptions): Promise<Stoppable & { state(): string }> {
  const nudges = nudgeActivityDeps(options.config);
  installTemporalRuntime(options.logger);
  const connection = await NativeConnection.connect({ address: options.temporalAddress });
  const onramp = await assembleOnramp({
    db: options.db,
    logger: options.logger,
    storage: { rawRequestWindow: rawRequestWindow(options.config) },
    worker: {
      connection,
      namespace: options.config.TEMPORAL_NAMESPACE,
      // A task needs its workflow in the cache: no more tasks at once than cached journeys.
      maxConcurrentWorkflowTaskExecutions: Math.min(options.config.ONRAMP_WORKER_CONCURRENCY, options.config.ONRAMP_WORKER_CACHED_WORKFLOWS),
      maxCachedWorkflows: options.config.ONRAMP_WORKER_CACHED_WORKFLOWS,
      nudges,
      handoffs: handoffActivityDeps(options.config, options.logger),
    },
  });
  return {
    /** The Temporal worker's state: RUNNING while it polls (the worker's /healthz). */
    state: () => onramp.worker.getState(),
    async stop() {
      await onramp.stop().catch(() => undefined); // a worker that failed has said so (logged) already
      await connection.close();
      nudges.mailer.close();
    },
  };
}

/** Runs `stop` once on SIGINT/SIGTERM; a second signal, a second or more after the first, exits at once. */
export function onShutdownSignal(stop: () => Promise<void>): void {
  let stoppingSince: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      // The same stop delivered twice (a supervisor signalling the process group, and bin/onramp.mjs
      // relaying it too) is one; a signal a second or more later is an impatient second Ctrl-C.
      if (Date.now() - stoppingSince < 1_000) return;
      process.exit(130);
    }
    stoppingSince = Date.now();
    process.stderr.write(`\n${signal}: shutting down…\n`);
    stop().then(
      () => process.exit(0),
      (error) => {
        process.stderr.write(`shutdown failed: ${error instanceof Error ? error.stack : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
