import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { TASK_QUEUE } from '../../workflows/journey-messages.ts';

export const RETENTION_SCHEDULE_ID = 'onramp-request-retention';

/**
 * The Schedule that runs the retention workflow every `everyMs` (visible in the Temporal UI under
 * Schedules). Every API process ensures it at start: the first creates it, the others set its
 * interval to theirs. A round still running when the next is due is not overlapped.
 */
export async function ensureRetentionSchedule(client: Client, everyMs: number, taskQueue = TASK_QUEUE): Promise<void> {
  const spec = { intervals: [{ every: everyMs }] };
  try {
    await client.schedule.create({
      scheduleId: RETENTION_SCHEDULE_ID,
      spec,
      action: { type: 'startWorkflow', workflowType: 'requestRetention', workflowId: RETENTION_SCHEDULE_ID, taskQueue, args: [] },
      // Temporal's least catch-up window is 10 s.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.max(everyMs, 60_000) },
      // The first round at once: the partitions ahead exist before the first interval ends.
      state: { triggerImmediately: true },
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(RETENTION_SCHEDULE_ID).update((previous) => ({ ...previous, spec }));
  }
}
