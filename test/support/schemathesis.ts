import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/**
 * schemathesis (installed by `node scripts/setup.mjs --test` into .tools/schemathesis) fuzzing every
 * operation of an Onramp's /openapi.json: every check, the exclusions in
 * test/integration/schemathesis.toml with their reasons, the strategies of schemathesis_hooks.py.
 */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOOLS = `${ROOT}.tools/schemathesis`;
const ST = `${TOOLS}/bin/st`;
/** One key that is every kind of key, so that every operation can be reached. */
export const FUZZ_KEY = 'fuzz-key-0123456789abcdefghij';
/** Every operation, every phase: about 9,700 cases, 210 s alone on 2 cores (schemathesis's own CPU bounds it). */
const MAX_EXAMPLES = '30';
/**
 * A run's time-out: schemathesis is CPU-bound (Hypothesis generating), so beside two other test
 * files on 2 cores it takes twice its 210 s alone, or more. A guard against a hang, not a speed test.
 */
export const SCHEMATHESIS_TIMEOUT = 900_000;
const SEED = '20261124';

const hasPip = () => spawnSync('python3', ['-m', 'pip', '--version'], { stdio: 'ignore' }).status === 0;
// Installed by `node scripts/setup.mjs --test` (.ci/run); without Python and pip there is nothing to run it with.
export const skipReason = existsSync(ST) ? undefined : hasPip() ? undefined : 'schemathesis needs Python 3 with pip (node scripts/setup.mjs --test installs it)';
if (skipReason) console.warn(`openapi-fuzz: skipped: ${skipReason}`);

/** Runs schemathesis over every operation of `url`'s /openapi.json; resolves to its exit code and output. */
export async function schemathesis(url: string, workers: string): Promise<{ code: number | null; output: string }> {
  expect(existsSync(ST), `${ST} is missing: run node scripts/setup.mjs --test`).toBe(true);
  const args = [
    '--config-file',
    `${ROOT}test/integration/schemathesis.toml`, // all checks, and the justified exclusions
    'run',
    `${url}/openapi.json`,
    '-H',
    `Authorization: Bearer ${FUZZ_KEY}`,
    '-H',
    `X-Amz-Firehose-Access-Key: ${FUZZ_KEY}`, // the Firehose source's key header: its bodies reach validation too
    '--max-examples',
    MAX_EXAMPLES,
    '--seed',
    SEED,
    '--workers',
    workers,
    '--no-color',
  ];
  const child = spawn(ST, args, {
    cwd: ROOT,
    env: { ...process.env, PYTHONPATH: `${TOOLS}:${ROOT}test/integration`, SCHEMATHESIS_HOOKS: 'schemathesis_hooks' },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) console.error(output);
  return { code, output };
}
