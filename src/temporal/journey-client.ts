import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { JourneyEvent } from '../journey/journey-event.ts';
import { handoffActionUpdate, journeyEventsSignal, journeyWorkflowId, TASK_QUEUE, type HandoffActionInput, type HandoffActionResult } from '../../workflows/journey-messages.ts';
import type { onboardingJourney } from '../../workflows/onboarding-journey.ts';
import { JOURNEY_START_SEARCH_ATTRIBUTES } from '../../workflows/journey-search-attributes.ts';

/**
 * The journey's Temporal client: everything Onramp asks of a developer's journey workflow from
 * outside it: feed it events, act on its case, ask whether it runs, end it and delete its
 * history. The messages themselves are declared with the workflow (workflows/journey-messages.ts).
 * Every call has a deadline, so a Temporal outage answers here instead of hanging the caller.
 */

/** How long a batch of events may wait on Temporal before the outbox row backs off. */
const FEED_DEADLINE_MS = 10_000;
/** How long an agent's action waits for the journey to take it (a worker must be running). */
const ACTION_DEADLINE_MS = 10_000;
/** How long a read of the journey's status waits before the read model answers alone. */
const DESCRIBE_DEADLINE_MS = 3_000;
/** Delivers a batch of events to the developer's journey, starting the journey if it has not begun (signalWithStart). */
export async function feedJourney(temporal: Client, developerId: string, events: JourneyEvent[]): Promise<void> {
  await temporal.connection.withDeadline(Date.now() + FEED_DEADLINE_MS, () =>
    temporal.workflow.signalWithStart<typeof onboardingJourney, [JourneyEvent[]]>('onboardingJourney', {
      workflowId: journeyWorkflowId(developerId),
      taskQueue: TASK_QUEUE,
      args: [{ developerId }],
      signal: journeyEventsSignal,
      signalArgs: [events],
      // Ignored when the journey runs already; it upserts the rest as they change.
      typedSearchAttributes: JOURNEY_START_SEARCH_ATTRIBUTES,
    }),
  );
}

export type CaseActionOutcome =
  | { ok: true; result: HandoffActionResult }
  | {
      ok: false;
      code: 'not_found' | 'closed' | 'invalid' | 'owned' | 'unavailable';
      message: string;
      /** `owned`: who owns the case. */
      owner?: string;
    };

/**
 * Hands an agent's action to the journey's update handler, which rejects it (not found, closed,
 * invalid) before it touches the journey; the same request id is applied once.
 */
export async function actOnJourneyCase(temporal: Client, developerId: string, input: HandoffActionInput, requestId?: string): Promise<CaseActionOutcome> {
  const handle = temporal.workflow.getHandle(journeyWorkflowId(developerId));
  try {
    const result = await temporal.connection.withDeadline(Date.now() + ACTION_DEADLINE_MS, () =>
      handle.executeUpdate(handoffActionUpdate, { args: [input], ...(requestId ? { updateId: `${input.caseId}:${requestId}`.slice(0, 250) } : {}) }),
    );
    return { ok: true, result };
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type === 'HandoffActionRejected') {
      const [code, owner] = error.cause.details ?? [];
      if (code === 'owned') return { ok: false, code, message: error.cause.message, owner: String(owner) };
      return { ok: false, code: code === 'closed' || code === 'not_found' ? code : 'invalid', message: error.cause.message };
    }
    if (error instanceof WorkflowNotFoundError) return { ok: false, code: 'closed', message: `the journey of case ${input.caseId} has ended` };
    return { ok: false, code: 'unavailable', message: `the journey could not take the action now: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Whether the journey's workflow runs; undefined when Temporal cannot be asked right now. */
export async function isJourneyRunning(temporal: Client, developerId: string): Promise<boolean | undefined> {
  try {
    const description = await temporal.connection.withDeadline(Date.now() + DESCRIBE_DEADLINE_MS, () => temporal.workflow.getHandle(journeyWorkflowId(developerId)).describe());
    return description.status.name === 'RUNNING';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    return undefined;
  }
}

/** How long the whole purge may wait on Temporal before the caller answers 503 (and is retried). */
const PURGE_DEADLINE_MS = 15_000;

/** gRPC NOT_FOUND: the run is gone already (deleted by an earlier attempt, or by retention). */
const NOT_FOUND = 5;

/**
 * Ends a developer's journey and deletes its Temporal history, every run of it: a journey
 * continues as new, and each earlier run keeps its own history (signals, activity inputs and
 * results) for the namespace's retention. The runs are found by walking the continue-as-new
 * chain back from the latest run and, for runs an interrupted earlier attempt left behind, by
 * visibility. Deleting a running run terminates it first (server side): a separate terminate
 * just before the delete made the server hold the deletion back for 20–40 s (it waits for the
 * close to reach visibility). Temporal deletes asynchronously; a run can be served for a short
 * while after. Throws when Temporal cannot be reached (the caller retries; every step is idempotent).
 */
export async function purgeJourney(temporal: Client, developerId: string): Promise<{ runs: number }> {
  return temporal.connection.withDeadline(Date.now() + PURGE_DEADLINE_MS, () => purge(temporal, developerId));
}

async function purge(temporal: Client, developerId: string): Promise<{ runs: number }> {
  const workflowId = journeyWorkflowId(developerId);
  const { namespace } = temporal.options;
  const deleted = new Set<string>();
  // Again while a new run shows up: the running one may have continued as new meanwhile.
  for (let round = 0; round < 3; round++) {
    const runs = [...(await chainOfRuns(temporal, workflowId)), ...(await listedRuns(temporal, workflowId))].filter((runId) => !deleted.has(runId));
    if (runs.length === 0) break;
    for (const runId of new Set(runs)) {
      try {
        await temporal.workflowService.deleteWorkflowExecution({ namespace, workflowExecution: { workflowId, runId } });
      } catch (error) {
        if ((error as { code?: number }).code !== NOT_FOUND) throw error;
      }
      deleted.add(runId);
    }
  }
  return { runs: deleted.size };
}

/** The latest run and, through each run's start event, the run it continued. */
async function chainOfRuns(temporal: Client, workflowId: string): Promise<string[]> {
  const runs: string[] = [];
  let runId: string | undefined;
  try {
    runId = (await temporal.workflow.getHandle(workflowId).describe()).runId;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return runs;
    throw error;
  }
  while (runId && !runs.includes(runId)) {
    runs.push(runId);
    try {
      runId = await continuedRun(temporal, workflowId, runId);
    } catch (error) {
      if ((error as { code?: number }).code === NOT_FOUND) break;
      throw error;
    }
  }
  return runs;
}

/** The run this one continued as new (from its start event), if any. */
async function continuedRun(temporal: Client, workflowId: string, runId: string): Promise<string | undefined> {
  const first = await temporal.workflowService.getWorkflowExecutionHistory({ namespace: temporal.options.namespace, execution: { workflowId, runId }, maximumPageSize: 1 });
  return first.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
}

/** Every run visibility knows of (an id with a quote cannot be queried; the chain covers it). */
async function listedRuns(temporal: Client, workflowId: string): Promise<string[]> {
  if (/["\\]/.test(workflowId)) return [];
  const runs: string[] = [];
  for await (const execution of temporal.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runs.push(execution.runId);
  return runs;
}
