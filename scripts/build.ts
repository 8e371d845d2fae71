// `npm run build`: what production runs, so that it starts with plain `node` and no compiler.
// dist/onramp.js is the CLI as ES modules, its entry and the chunks it imports when a command runs (esbuild: every file of src/ and workflows/ it reaches,
// the packages in node_modules left as imports), with its source map; dist/workflow-bundle.js is
// the journey workflows bundled for the worker's sandbox (webpack, through the Temporal SDK), which
// a compiled worker loads instead of bundling workflows/ at every start.
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { build } from 'esbuild';
import { WORKFLOW_BUNDLE_FILE, WORKFLOWS_PATH } from '../src/assembly/workflow-bundle.ts';
import { packagePath } from '../src/package-root.ts';

/** The compiled CLI, in dist/. */
export const CLI_FILE = 'onramp.js';

/**
 * What the compiled CLI reads from beside dist/ at run time: package.json (its version; its
 * `"type": "module"` makes dist/*.js ES modules), the shipped config and templates the defaults
 * name, the migrations and the dashboard's pages. With dist/ and the production node_modules,
 * this is all the image holds.
 */
export const RUNTIME_FILES = ['package.json', 'config', 'templates', 'prisma/migrations', 'src/dashboard'];

export interface BuildReport {
  cli: string;
  workflowBundle: string;
  /** Bytes of each (the CLI: its entry and chunks, without source maps). */
  sizes: { cli: number; workflowBundle: number };
  ms: { cli: number; workflowBundle: number };
}

/**
 * Builds into `outDir`, emptied first. The compiled CLI finds its run-time files one folder up
 * (src/package-root.ts), so `outDir` must sit directly inside a tree holding RUNTIME_FILES and
 * node_modules: the checkout's dist/, or a copy of that tree (the image, the build test).
 */
export async function buildOnramp(outDir = packagePath('dist')): Promise<BuildReport> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const cli = join(outDir, CLI_FILE);
  const workflowBundle = join(outDir, WORKFLOW_BUNDLE_FILE);

  let started = Date.now();
  await build({
    entryPoints: [packagePath('src', 'cli', 'main.ts')],
    outdir: outDir,
    entryNames: CLI_FILE.replace(/\.js$/, ''),
    // Chunks: a command's `import()` stays lazy compiled, so `onramp handoffs` loads no server's
    // packages. In one file their imports would sit at its top and load on every run.
    splitting: true,
    // Beside onramp.js, not below it: src/package-root.ts finds the package one folder up from its own file.
    chunkNames: '[name]-[hash]',
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
  const cliMs = Date.now() - started;

  started = Date.now();
  const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silent });
  writeFileSync(workflowBundle, code);
  const bundleMs = Date.now() - started;

  return {
    cli,
    workflowBundle,
    sizes: {
      cli: readdirSync(outDir)
        .filter((name) => name.endsWith('.js') && name !== WORKFLOW_BUNDLE_FILE)
        .reduce((bytes, name) => bytes + statSync(join(outDir, name)).size, 0),
      workflowBundle: statSync(workflowBundle).size,
    },
    ms: { cli: cliMs, workflowBundle: bundleMs },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const report = await buildOnramp();
  const kb = (bytes: number) => `${Math.round(bytes / 1024)} KB`;
  console.log(`build: ${report.cli} (${kb(report.sizes.cli)}, ${report.ms.cli} ms), ${report.workflowBundle} (${kb(report.sizes.workflowBundle)}, ${report.ms.workflowBundle} ms)`);
}
