import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * What `journeyWorkflowBundle()` gives a process started on the sources (tsx), as `onramp start`,
 * `onramp worker` and `onramp rules preview` are: each runs in a child with its own temporary
 * folder (TMPDIR), so this test's cache is its own and no other test ever reads what it writes.
 */
async function bundleInChild(tmp: string): Promise<{ file: string; code: string }> {
  const script = `
    const { journeyWorkflowBundle, sourcesBundle } = await import('./src/assembly/workflow-bundle.ts');
    const { keptBuildFile } = await import('./src/build-cache.ts');
    const bundle = await journeyWorkflowBundle();
    console.log(JSON.stringify({ file: keptBuildFile(sourcesBundle(console)), code: bundle.code }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, TMPDIR: tmp },
    maxBuffer: 64 * 2 ** 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { file: string; code: string };
}

describe('the workflow bundle of a process run on the sources', () => {
  const tmp = mkdtempSync(`${tmpdir()}/onramp-bundle-cache-`);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('is kept in the temporary folder; the next process reads it rather than building it again', async () => {
    const built = await bundleInChild(tmp);
    expect(built.file.startsWith(tmp), 'kept in the temporary folder').toBe(true);
    expect(existsSync(built.file)).toBe(true);
    expect(readFileSync(built.file, 'utf8')).toBe(built.code);
    expect(built.code).toContain('onboardingJourney');

    // A file the bundler could never have written: the next process returns it, so it built nothing.
    writeFileSync(built.file, '// kept by the previous process\n');
    const read = await bundleInChild(tmp);
    expect(read.file).toBe(built.file);
    expect(read.code).toBe('// kept by the previous process\n');
  });
});
