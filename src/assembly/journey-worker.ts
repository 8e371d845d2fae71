import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createHandoffActivities, type HandoffActivityDeps } from '../activities/handoff-activities.ts';
import { createJourneyActivities } from '../activities/journey-activities.ts';
import { createNudgeActivities, type NudgeActivityDeps } from '../activities/nudge-activities.ts';
import { createRetentionActivities } from '../activities/retention-activities.ts';
import { DEFAULT_RAW_REQUEST_WINDOW, type RawRequestWindow } from '../retention/raw-request-window.ts';
import type pg from 'pg';
import { rulesInForceCache } from '../rules/rules-in-force.ts';
import { TemplatesInForceCache } from '../mail/templates-in-force.ts';
import type { ReadFunnelInForce } from '../funnel/funnel-in-force.ts';
import { activityFailures } from '../metrics/process-metrics.ts';
import { withExperimentAllocations } from '../metrics/experiment-allocations.ts';
import { withRiskCrossings } from '../metrics/risk-crossings.ts';
import type { RiskCrossings } from '../journey/risk-crossings.ts';
import { assertSearchAttributesRegistered } from '../temporal/search-attributes.ts';
import { TASK_QUEUE } from '../../workflows/journey-messages.ts';
import { journeyWorkflowBundle } from './workflow-bundle.ts';

/** What the worker gives the activities itself: the pool, and its caches of the documents in force. */
type WorkerProvided = 'pool' | 'rulesInForce' | 'funnelInForce' | 'templatesInForce';

export interface JourneyWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  pool: pg.Pool;
  /** The process's cache of the funnel in force (the assembly's). */
  funnelInForce: ReadFunnelInForce;
  /** `templatesDir`: the folder read before the first templates version is stored (start-up stores it). */
  nudges: Omit<NudgeActivityDeps, WorkerProvided> & { templatesDir: string };
  handoffs: Omit<HandoffActivityDeps, WorkerProvided>;
  /**
   * Risk crossings to use whatever the history (the rules preview's, measured on the real history
   * before it starts); default: measured hourly on the worker's own database.
   */
  riskCrossings?: RiskCrossings;
  /** The raw-request window the retention rounds apply (docs/concepts/storage.md); the default's otherwise. */
  rawRequestWindow?: RawRequestWindow;
  /** How long the worker reuses the rules, policy and templates version it read (default 2 s; tests: 0). */
  rulesTtlMs?: number;
  /** A prebuilt bundle (tests bundle once); otherwise the build's (dist/), else workflows/ bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  taskQueue?: string;
  maxConcurrentWorkflowTaskExecutions?: number;
  /** Unset: the SDK's default, from the heap limit (thousands on a large machine). */
  maxCachedWorkflows?: number;
}

/** The worker that runs journeys and their activities. */
export async function createJourneyWorker(options: JourneyWorkerOptions): Promise<Worker> {
  // Refuses to start on a namespace its journeys could not run in (their upserts would be refused).
  await assertSearchAttributesRegistered(options.connection.operatorService, options.namespace);
  const read = rulesInForceCache(options.pool, options.rulesTtlMs);
  const fixed = options.riskCrossings;
  const withRisk = fixed ? async () => ({ ...(await read()), risk: fixed }) : withRiskCrossings(read, options.pool, options.funnelInForce);
  const rulesInForce = withExperimentAllocations(withRisk, options.pool, options.funnelInForce);
  const templates = new TemplatesInForceCache(options.pool, options.nudges.templatesDir, options.rulesTtlMs);
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    workflowBundle: options.workflowBundle ?? (await journeyWorkflowBundle()),
    activities: {
      ...createJourneyActivities({ pool: options.pool }),
      ...createNudgeActivities({ ...options.nudges, pool: options.pool, rulesInForce, funnelInForce: options.funnelInForce, templatesInForce: () => templates.read() }),
      ...createHandoffActivities({ ...options.handoffs, pool: options.pool, rulesInForce, funnelInForce: options.funnelInForce }),
      ...createRetentionActivities({ pool: options.pool, funnelInForce: options.funnelInForce, rawRequestWindow: options.rawRequestWindow ?? DEFAULT_RAW_REQUEST_WINDOW }),
    },
    maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTaskExecutions ?? 200,
    ...(options.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: options.maxCachedWorkflows } : {}),
    maxConcurrentLocalActivityExecutions: 200,
    // Every failed attempt (local or regular) counts in onramp_activity_failures_total.
    interceptors: {
      activity: [
        (ctx) => ({
          inbound: {
            async execute(input, next) {
              try {
                return await next(input);
              } catch (error) {
                activityFailures.inc({ activity: ctx.info.activityType });
                throw error;
              }
            },
          },
        }),
      ],
    },
  });
}
