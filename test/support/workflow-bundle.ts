import type { WorkflowBundlePath } from '@temporalio/worker';
import { inject } from 'vitest';

/** The real workflow bundle, built once per run by run-artifacts.global-setup.ts. */
export function journeyWorkflowBundle(): WorkflowBundlePath {
  const codePath = inject('workflowBundlePath');
  if (!codePath) throw new Error("no workflow bundle: this test's Vitest project must list test/support/run-artifacts.global-setup.ts in globalSetup");
  return { codePath };
}
