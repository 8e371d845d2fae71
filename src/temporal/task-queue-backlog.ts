import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;

/** How long the question may wait on Temporal before the caller goes on without the answer. */
const DEADLINE_MS = 3_000;

/**
 * Workflow tasks waiting in a task queue for a worker to take them: the server's approximate
 * count (DescribeTaskQueue with report_stats, refreshed by the server every few seconds), or
 * undefined when the server reports no stats.
 */
export async function workflowTaskBacklog(temporal: Client, taskQueue: string): Promise<number | undefined> {
  const response = await temporal.connection.withDeadline(Date.now() + DEADLINE_MS, () =>
    temporal.workflowService.describeTaskQueue({
      namespace: temporal.options.namespace,
      taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      reportStats: true,
    }),
  );
  return response.stats ? Number(response.stats.approximateBacklogCount ?? 0) : undefined;
}
