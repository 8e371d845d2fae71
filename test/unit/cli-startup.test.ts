import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * What building `onramp`'s commands loads. Every run of a client command (`onramp handoffs …`,
 * `rules validate`, `--help`) builds the whole program, so a server library imported at the top of
 * a command's module is paid on each: all of them together made `--help` take 4 s of wall time and 6 s
 * of CPU here. The servers, the database drivers, the sandboxes and MJML load when the command
 * that needs them runs.
 */
const SERVER_PACKAGES = [
  '@temporalio/worker',
  '@temporalio/testing',
  '@temporalio/client',
  'fastify',
  'pg',
  '@prisma/client',
  '@slack/web-api',
  'mjml',
  'nodemailer',
  'webpack',
  'pino',
];

/** The packages under node_modules that `buildProgram()` loaded through the CommonJS loader (every one above is CommonJS). */
async function packagesLoadedByBuildingTheProgram(): Promise<string[]> {
  const script = `
    import { createRequire } from 'node:module';
    const { buildProgram } = await import('./src/cli/program.ts');
    buildProgram();
    const names = Object.keys(createRequire(import.meta.url).cache).map((path) => path.match(/node_modules\\/((@[^/]+\\/)?[^/]+)/)?.[1]);
    console.log(JSON.stringify([...new Set(names.filter(Boolean))]));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root });
  return JSON.parse(stdout) as string[];
}

describe('onramp start-up', () => {
  it('builds every command without loading a server library: they load when their command runs', async () => {
    const loaded = await packagesLoadedByBuildingTheProgram();
    // The probe sees CommonJS packages: commander is one, and every command needs it.
    expect(loaded).toContain('commander');
    expect(loaded.filter((name) => SERVER_PACKAGES.includes(name))).toEqual([]);
  });
});
