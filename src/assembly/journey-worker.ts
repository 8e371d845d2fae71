import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createHandoffActivities, type HandoffActivityDeps } from '../activities/handoff-activities.ts';
import { createJourneyActivities } from '../activities/journey-activities.ts';
import { createNudgeActivities, type NudgeActivityDeps } from '../activities/nudge-activities.ts';
import type pg from 'pg';
import { activityFailures } from '../metrics/process-metrics.ts';
import { TASK_QUEUE } from '../../workflows/journey-messages.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

export interface JourneyWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  pool: pg.Pool;
  nudges: Omit<NudgeActivityDeps, 'pool'>;
  handoffs: Omit<HandoffActivityDeps, 'pool'>;
  /** A prebuilt bundle (tests bundle once); otherwise the worker bundles workflows/ at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  taskQueue?: string;
  maxConcurrentWorkflowTaskExecutions?: number;
  /** Unset: the SDK's default, from the heap limit (thousands on a large machine). */
  maxCachedWorkflows?: number;
}

/** The worker that runs journeys and their activities. */
export async function createJourneyWorker(options: JourneyWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: {
      ...createJourneyActivities({ pool: options.pool }),
      ...createNudgeActivities({ ...options.nudges, pool: options.pool }),
      ...createHandoffActivities({ ...options.handoffs, pool: options.pool }),
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
