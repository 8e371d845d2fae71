import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/temporal/free-port.ts';

const run = promisify(execFile);

/**
 * A PostgreSQL server of the test's own (initdb into a temporary directory, pg_ctl), so a chaos
 * test can stop and restart it without touching the shared cluster the other tests use. As root
 * (CI) the server runs as the `postgres` user, since PostgreSQL refuses to run as root.
 */
export interface PrivatePostgres {
  url: string;
  /** `fast`: clean shutdown; `immediate`: as a crash (recovery at the next start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** The newest Debian PostgreSQL's bin directory (pg_ctl, initdb), if installed. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] && join(root, versions[0], 'bin');
}

/** Runs PostgreSQL's tools as the server's user (`postgres` when we are root: it refuses to run as root). */
async function toolRunner(dir: string) {
  const bin = postgresBinDir();
  if (!bin) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(dir, uid, gid);
  }
  return async (tool: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args];
    return run(file, argv, { timeout: 60_000 });
  };
}

/** Starts the server of `data` (in `dir`) on a free port; `start` starts it again after a stop, `destroy` removes `dir`. */
async function serve(dir: string, data: string, exec: Awaited<ReturnType<typeof toolRunner>>): Promise<PrivatePostgres & { port: number }> {
  const port = await freePort();
  const start = async () => {
    await exec('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, `server-${port}.log`),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`,
      'start',
    ]);
  };
  await start();
  return {
    port,
    url: `postgresql://onramp@127.0.0.1:${port}/postgres`,
    async stop(mode = 'fast') {
      await exec('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
    },
    start,
    async destroy() {
      await exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startPrivatePostgres(): Promise<PrivatePostgres & { port: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-pg-'));
  const exec = await toolRunner(dir);
  const data = join(dir, 'data');
  // initdb's pg_hba.conf trusts replication connections from 127.0.0.1 too, and wal_level is `replica`.
  await exec('initdb', ['-D', data, '-A', 'trust', '-U', 'onramp', '-E', 'UTF8', '--no-sync']);
  return serve(dir, data, exec);
}

/**
 * A hot standby of `primary`, streaming its WAL (pg_basebackup -R): a read replica as a managed
 * PostgreSQL offers one, which refuses every write.
 */
export async function startStandby(primary: { port: number }): Promise<PrivatePostgres & { port: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-pg-standby-'));
  const exec = await toolRunner(dir);
  const data = join(dir, 'data');
  await exec('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'onramp', '-D', data, '-R', '-X', 'stream', '--no-sync']);
  return serve(dir, data, exec);
}
