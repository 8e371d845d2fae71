import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { sourcesBundle } from '../../src/assembly/workflow-bundle.ts';
import { keptBuild } from '../../src/build-cache.ts';
import { migratedCluster } from '../../src/db/migrated-cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The journey workflow bundle this run built, as a file for `{ codePath }`. */
    workflowBundlePath: string;
    /** A PGlite data directory with the migrations applied, as `dumpDataDir()` writes it. */
    migratedPglitePath: string;
  }
}

/**
 * What every server-backed project needs and is the same for every file, built once per run: the
 * workflow bundle (a webpack build) and a migrated PGlite cluster to unpack (initdb and the
 * migrations take seconds per database; unpacking a third of that). Each project loads this
 * setup on its own, so the build and its files are kept on the main process's global object,
 * shared, and removed after the last project is done.
 */
interface SharedArtifacts {
  dir: string;
  built: Promise<{ workflowBundlePath: string; migratedPglitePath: string }>;
  users: number;
}
const key = Symbol.for('onramp.test.runArtifacts');
const shared = globalThis as typeof globalThis & { [key]?: SharedArtifacts };

// Both are kept between runs and with the processes the tests start (src/build-cache.ts): a run on
// unchanged sources reads them rather than building them.
async function buildWorkflowBundle(dir: string): Promise<string> {
  const silent = { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} };
  const path = join(dir, 'workflows.js');
  writeFileSync(path, await keptBuild(sourcesBundle(silent)));
  return path;
}

async function buildMigratedPglite(dir: string): Promise<string> {
  const path = join(dir, 'pglite-migrated.tar');
  writeFileSync(path, Buffer.from(await (await migratedCluster()).arrayBuffer()));
  return path;
}

export default async function setup(project: TestProject) {
  const artifacts = (shared[key] ??= (() => {
    const dir = mkdtempSync(join(tmpdir(), 'onramp-test-run-'));
    const built = Promise.all([buildWorkflowBundle(dir), buildMigratedPglite(dir)]).then(([workflowBundlePath, migratedPglitePath]) => ({
      workflowBundlePath,
      migratedPglitePath,
    }));
    return { dir, built, users: 0 };
  })());
  artifacts.users++;
  const { workflowBundlePath, migratedPglitePath } = await artifacts.built;
  project.provide('workflowBundlePath', workflowBundlePath);
  project.provide('migratedPglitePath', migratedPglitePath);
  return () => {
    if (--artifacts.users > 0) return;
    delete shared[key];
    rmSync(artifacts.dir, { recursive: true, force: true });
  };
}
