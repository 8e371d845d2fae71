import { proxyActivities } from '@temporalio/workflow';
import type { RetentionActivities, RetentionSummary } from '../src/activities/retention-activities.ts';

const { applyRequestRetention } = proxyActivities<RetentionActivities>({
  // A round drops whole months; the first one after an upgrade may roll up many.
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 minute', maximumInterval: '30 minutes', backoffCoefficient: 2 },
});

/**
 * One round of the storage retention policy (docs/concepts/storage.md), started by the
 * `onramp-request-retention` Schedule: roll up and drop the months of requests every developer's
 * raw-request window has passed, and the weeks of ids older than the deduplication window.
 */
export async function requestRetention(): Promise<RetentionSummary> {
  return applyRequestRetention();
}
