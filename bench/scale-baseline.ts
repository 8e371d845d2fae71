/**
 * The baseline of `bench:scale`'s backlog start: the same number of trivial workflows
 * (bench/trivial-workflow.ts, done at their first signal) started from a backlog on the same
 * Temporal dev server, by signalWithStart, the way the outbox dispatcher starts journeys: rounds
 * of DISPATCH_BATCH ids, each round's calls at most `concurrency` in flight
 * (src/ingest/outbox-dispatcher.ts), paced as it is (no round while the task queue holds
 * ONRAMP_DISPATCH_MAX_BACKLOG workflow tasks), with a worker of the journey worker's task slots and cache.
 * What it leaves out is what Onramp adds: the outbox's claim and delete in PostgreSQL, the journey's
 * machine, its local activities and its history.
 */
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { forEachConcurrently } from '../src/db/polling-loop.ts';
import { workflowTaskBacklog } from '../src/temporal/task-queue-backlog.ts';
import { pingSignal, trivialSignalWorkflow } from './trivial-workflow.ts';

/** The outbox dispatcher's rows per claim (OutboxDispatcher's default batchSize). */
export const DISPATCH_BATCH = 1000;

export interface TrivialBacklogOptions {
  address: string;
  temporal: Client;
  workflows: number;
  /** signalWithStart calls in flight (the dispatcher's ONRAMP_DISPATCH_CONCURRENCY). */
  concurrency: number;
  /** The journey worker's settings. */
  maxConcurrentWorkflowTaskExecutions: number;
  maxCachedWorkflows: number;
  /** The dispatcher's pacing (ONRAMP_DISPATCH_MAX_BACKLOG): no round starts while the task queue holds this many workflow tasks (0: none). */
  maxTaskBacklog: number;
  /** The rest of the journey worker's polling settings. */
  polling?: Pick<WorkerOptions, 'workflowTaskPollerBehavior' | 'nonStickyToStickyPollRatio'>;
  progress: (message: string) => void;
}

export interface BacklogTimelinePoint {
  /** Seconds since the phase began. */
  t: number;
  /** signalWithStart calls answered so far. */
  started: number;
  /** Workflows done (trivial: completed; journeys: every stage of their truth recorded). */
  done: number;
  /** Workflow tasks waiting in the task queue, by the server's approximate count. */
  backlog?: number;
}

export interface TrivialBacklogResult {
  workflows: number;
  /** Until every signalWithStart was answered. */
  startedSeconds: number;
  /** Until every workflow completed. */
  settledSeconds: number;
  signalWithStartsPerSecond: number;
  workflowsPerSecond: number;
  timeline: BacklogTimelinePoint[];
}

/** Starts `workflows` trivial workflows from a backlog and waits until every one has completed. */
export async function trivialBacklogStart(options: TrivialBacklogOptions): Promise<TrivialBacklogResult> {
  const { temporal, workflows, concurrency } = options;
  const taskQueue = 'bench-trivial-backlog';
  const connection = await NativeConnection.connect({ address: options.address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./trivial-workflow.ts', import.meta.url)),
      logger: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} },
    }),
    maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTaskExecutions,
    maxCachedWorkflows: options.maxCachedWorkflows,
    ...options.polling,
  });
  const running = worker.run();
  const completed = async () => (await temporal.workflow.count(`WorkflowType = "trivialSignalWorkflow" AND ExecutionStatus = "Completed" AND TaskQueue = "${taskQueue}"`)).count;
  const timeline: BacklogTimelinePoint[] = [];
  let started = 0;
  const begin = performance.now();
  const elapsed = () => (performance.now() - begin) / 1000;
  try {
    let startedSeconds = 0;
    const dispatch = (async () => {
      for (let first = 0; first < workflows; first += DISPATCH_BATCH) {
        while (options.maxTaskBacklog > 0 && ((await workflowTaskBacklog(temporal, taskQueue)) ?? 0) >= options.maxTaskBacklog) {
          await new Promise((r) => setTimeout(r, 500)); // as the dispatcher waits (FULL_BACKOFF_MS)
        }
        const ids = Array.from({ length: Math.min(DISPATCH_BATCH, workflows - first) }, (_, i) => `trivial-backlog/${first + i}`);
        await forEachConcurrently(ids, concurrency, async (workflowId) => {
          await temporal.workflow.signalWithStart(trivialSignalWorkflow, { workflowId, taskQueue, args: [1], signal: pingSignal, signalArgs: [workflowId] });
          started++;
        });
      }
      startedSeconds = elapsed();
    })();
    let done = 0;
    let lastReport = 0;
    while (done < workflows) {
      await new Promise((r) => setTimeout(r, 5_000));
      done = await completed();
      timeline.push({ t: Math.round(elapsed()), started, done, backlog: await workflowTaskBacklog(temporal, taskQueue) });
      if (elapsed() - lastReport >= 60) {
        lastReport = elapsed();
        options.progress(`trivial backlog: ${started} started, ${done} completed`);
      }
    }
    await dispatch;
    const settledSeconds = elapsed();
    return {
      workflows,
      startedSeconds: Math.round(startedSeconds),
      settledSeconds: Math.round(settledSeconds),
      signalWithStartsPerSecond: +(workflows / startedSeconds).toFixed(1),
      workflowsPerSecond: +(workflows / settledSeconds).toFixed(1),
      timeline,
    };
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
  }
}
