import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { SlackGateway } from '../slack/slack-gateway.ts';
import { assembleOnramp } from '../assembly/assemble-onramp.ts';
import { installTemporalRuntime } from '../temporal/install-runtime.ts';
import { handoffActivityDeps, slackGateway } from './handoff-deps.ts';
import { nudgeActivityDeps } from './nudge-deps.ts';

/** The pieces a process is made of; `start` runs both in one process, `api` and `worker` one each. */

export interface Stoppable {
  stop(): Promise<void>;
}

export interface ApiServiceOptions {
  db: Database;
  temporalAddress: string;
  namespace: string;
  logger: Logger;
  ingestKeys: string[];
  /** Admin keys (rules endpoints); empty: they answer 401. */
  adminKeys: string[];
  /** Agent keys (handoff endpoints; the admin keys work there too). */
  agentKeys: string[];
  /** Read-only metrics keys (the admin keys work there too). */
  metricsKeys?: string[];
  sdkUserAgents?: RegExp[];
  /** The nudge templates folder: rules naming another template are refused. */
  templatesDir?: string;
  signingSecret: string;
  slack?: { signingSecret?: string; gateway?: SlackGateway; publicUrl?: string };
  host: string;
  port: number;
  dispatchConcurrency: number;
}

/** The API's settings from the environment beyond keys and ports: agent and metrics keys, Slack's signing secret and client, extra SDK user agents, the templates folder. */
export function handoffApiOptions(config: Config, logger: Logger): Pick<ApiServiceOptions, 'agentKeys' | 'metricsKeys' | 'slack' | 'sdkUserAgents' | 'templatesDir'> {
  const gateway = slackGateway(config, logger);
  return {
    templatesDir: config.ONRAMP_TEMPLATES_DIR,
    agentKeys: config.ONRAMP_AGENT_KEY ? [config.ONRAMP_AGENT_KEY] : [],
    metricsKeys: config.ONRAMP_METRICS_KEY ? [config.ONRAMP_METRICS_KEY] : [],
    sdkUserAgents: config.ONRAMP_SDK_USER_AGENTS ?? [],
    slack: { ...(config.SLACK_SIGNING_SECRET ? { signingSecret: config.SLACK_SIGNING_SECRET } : {}), ...(gateway ? { gateway } : {}), publicUrl: config.ONRAMP_PUBLIC_URL ?? `http://localhost:${config.PORT}` },
  };
}

/** HTTP API plus the outbox dispatcher that delivers its signals. */
export async function startApiService(options: ApiServiceOptions): Promise<Stoppable & { url: string }> {
  const connection = await Connection.connect({ address: options.temporalAddress });
  const temporal = new Client({ connection, namespace: options.namespace });
  const onramp = await assembleOnramp({
    db: options.db,
    logger: options.logger,
    temporal,
    dispatcher: { concurrency: options.dispatchConcurrency },
    api: {
      ingestKeys: options.ingestKeys,
      adminKeys: options.adminKeys,
      agentKeys: options.agentKeys,
      ...(options.metricsKeys ? { metricsKeys: options.metricsKeys } : {}),
      ...(options.sdkUserAgents ? { sdkUserAgents: options.sdkUserAgents } : {}),
      ...(options.templatesDir ? { templatesDir: options.templatesDir } : {}),
      signingSecret: options.signingSecret,
      ...(options.slack ? { slack: options.slack } : {}),
    },
  });
  const address = await onramp.app.listen({ host: options.host, port: options.port });
  return {
    url: address.replace('0.0.0.0', 'localhost').replace('[::]', 'localhost'),
    async stop() {
      await onramp.stop();
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
export async function startWorkerService(options: WorkerServiceOptions): Promise<Stoppable> {
  const nudges = nudgeActivityDeps(options.config, options.db);
  installTemporalRuntime(options.logger);
  const connection = await NativeConnection.connect({ address: options.temporalAddress });
  const onramp = await assembleOnramp({
    db: options.db,
    logger: options.logger,
    worker: {
      connection,
      namespace: options.config.TEMPORAL_NAMESPACE,
      // A task needs its workflow in the cache: no more tasks at once than cached journeys.
      maxConcurrentWorkflowTaskExecutions: Math.min(options.config.ONRAMP_WORKER_CONCURRENCY, options.config.ONRAMP_WORKER_CACHED_WORKFLOWS),
      maxCachedWorkflows: options.config.ONRAMP_WORKER_CACHED_WORKFLOWS,
      nudges,
      handoffs: handoffActivityDeps(options.config, options.db, options.logger),
    },
  });
  return {
    async stop() {
      await onramp.stop().catch(() => undefined); // a worker that failed has said so (logged) already
      await connection.close();
      nudges.mailer.close();
    },
  };
}

/** Runs `stop` once on SIGINT/SIGTERM; a second signal exits at once. */
export function onShutdownSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
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
