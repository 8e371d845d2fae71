import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalTestServer } from './binaries.ts';
import { registerSearchAttributes } from './search-attributes.ts';

/**
 * The real time-skipping test server (the binary from .tools or PATH, else the SDK's download),
 * with the journeys' search attributes registered: it refuses an upsert of an unknown one.
 */
export async function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  const path = findTemporalTestServer();
  const env = await TestWorkflowEnvironment.createTimeSkipping(path ? { server: { executable: { type: 'existing-path', path } } } : {});
  try {
    await registerSearchAttributes(env.connection.operatorService, env.namespace ?? 'default');
  } catch (error) {
    await env.teardown();
    throw error;
  }
  return env;
}
