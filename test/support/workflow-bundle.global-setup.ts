import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { WORKFLOWS_PATH } from '../../src/assembly/journey-worker.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The journey workflow bundle this run built, as a file for `{ codePath }`. */
    workflowBundlePath: string;
  }
}

/**
 * Bundles the workflows once per run, for every project that lists this global setup: each
 * project loads it on its own, so the build and its file are kept on the main process's global
 * object, shared, and removed after the last project is done.
 */
interface SharedBundle {
  path: Promise<string>;
  users: number;
}
const key = Symbol.for('onramp.test.workflowBundle');
const shared = globalThis as typeof globalThis & { [key]?: SharedBundle };

async function build(): Promise<string> {
  const silent = { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} };
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silent });
  const path = join(mkdtempSync(join(tmpdir(), 'onramp-workflow-bundle-')), 'workflows.js');
  writeFileSync(path, code);
  return path;
}

export default async function setup(project: TestProject) {
  const bundle = (shared[key] ??= { path: build(), users: 0 });
  bundle.users++;
  project.provide('workflowBundlePath', await bundle.path);
  return async () => {
    if (--bundle.users > 0) return;
    delete shared[key];
    rmSync(join(await bundle.path, '..'), { recursive: true, force: true });
  };
}
