import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@temporalio/common';
import { bundleWorkflowCode, Runtime, type WorkflowBundleOption } from '@temporalio/worker';
import { keptBuild, type KeptBuild } from '../build-cache.ts';
import { packagePath } from '../package-root.ts';

/** The journey workflows' entry, which webpack bundles for the worker's sandbox. */
export const WORKFLOWS_PATH = packagePath('workflows', 'index.ts');

/** The file `npm run build` writes the bundle to, beside the compiled CLI (dist/). */
export const WORKFLOW_BUNDLE_FILE = 'workflow-bundle.js';

// Compiled, this module is part of dist/ (onramp.js or a chunk beside it), so the bundle the build wrote is beside it. As
// source there is none beside it: a worker run with tsx bundles workflows/ from the sources it runs.
const prebuilt = fileURLToPath(new URL(WORKFLOW_BUNDLE_FILE, import.meta.url));

/**
 * A bundle of workflows/ as the sources are now, kept between processes. Its inputs are a superset
 * of what webpack reads (the workflows import from src/; Prisma's generated client they may not):
 * an edit anywhere in src/ costs a new bundle, never a stale journey.
 */
export const sourcesBundle = (logger: Logger): KeptBuild => ({
  kind: 'workflow-bundles',
  inputs: ['workflows', 'src'],
  build: async () => (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger })).code,
});

/** The bundle `npm run build` wrote; else workflows/ bundled from the sources (webpack: 5–10 s of CPU), once per process and kept for the next (`keptBuild`). */
export async function journeyWorkflowBundle(): Promise<WorkflowBundleOption> {
  if (existsSync(prebuilt)) {
    Runtime.instance().logger.info('workflow bundle prebuilt', { codePath: prebuilt });
    return { codePath: prebuilt };
  }
  const code = await keptBuild({ ...sourcesBundle(bundlerLogger()), onUnkept: (error) => Runtime.instance().logger.warn('workflow bundle not kept', { error: String(error) }) });
  return { code: code.toString('utf8') };
}

/** The runtime's logger with its info lines at debug: webpack's build report is some twenty lines at info otherwise. */
function bundlerLogger(): Logger {
  const log = Runtime.instance().logger;
  return {
    log: (level, message, meta) => log.log(level === 'INFO' ? 'DEBUG' : level, message, meta),
    trace: (message, meta) => log.trace(message, meta),
    debug: (message, meta) => log.debug(message, meta),
    info: (message, meta) => log.debug(message, meta),
    warn: (message, meta) => log.warn(message, meta),
    error: (message, meta) => log.error(message, meta),
  };
}
