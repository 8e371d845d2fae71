import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LOADED_MODULES_PROBE, loadedModules, packagesOf, SERVER_PACKAGES } from '../support/server-packages.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * What running `onramp` from the sources loads. Every run of a client command (`onramp handoffs …`,
 * `rules validate`, `--help`) builds the whole program, so a server library imported at the top of
 * a command's module is paid on each: all of them together made `--help` take 4 s of wall time and
 * 6 s of CPU here. The servers, the database drivers, the sandboxes and MJML load when the command
 * that needs them runs. (The compiled CLI: compiled-build.test.ts.)
 */
describe('onramp start-up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-cli-startup-'));
  const probe = join(dir, 'probe.cjs');
  writeFileSync(probe, LOADED_MODULES_PROBE);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds every command without loading a server library: they load when their command runs', async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--require', probe, '--import', 'tsx', 'src/cli/main.ts', '--help'], { cwd: root });
    expect(stdout).toContain('handoffs');
    const loaded = packagesOf(loadedModules(stderr));
    // The probe sees CommonJS packages: commander is one, and every command needs it.
    expect(loaded).toContain('commander');
    expect(loaded.filter((name) => SERVER_PACKAGES.includes(name))).toEqual([]);
  });
});
