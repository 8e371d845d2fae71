import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTimeSkippingServer } from '../../src/temporal/time-skipping-server.ts';

/** The real time-skipping test server, the journeys' search attributes registered. */
export function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  return startTimeSkippingServer();
}
