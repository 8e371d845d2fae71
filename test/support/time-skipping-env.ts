import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalTestServer } from '../../src/temporal/binaries.ts';

/** The real time-skipping test server: the binary from .tools/PATH, else the SDK's download. */
export function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const path = findTemporalTestServer();
  return TestWorkflowEnvironment.createTimeSkipping(path ? { server: { executable: { type: 'existing-path', path } } } : {});
}
