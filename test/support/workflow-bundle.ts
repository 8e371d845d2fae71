import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../src/assembly/journey-worker.ts';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The real workflow bundle, built once per test process. */
export function journeyWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } });
  return bundle;
}
