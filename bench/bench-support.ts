/** What the benches share: their database, percentiles as PostgreSQL's percentile_cont, and polling until done. */
import { readdirSync, readFileSync } from 'node:fs';
import { openDatabase, type Database } from '../src/db/database.ts';
import { applyMigrations } from '../src/db/migrate.ts';
import { createTestDatabase, type DatabaseBackend, type TestDatabase } from '../test/support/test-databases.ts';

/**
 * A fresh, migrated database for one bench run: a new database on the PostgreSQL of
 * BENCH_DATABASE_URL (or TEST_DATABASE_URL), else embedded PGlite; `database.drop()` removes it.
 */
export async function benchDatabase(): Promise<{ backend: DatabaseBackend; database: TestDatabase; db: Database }> {
  const backend: DatabaseBackend = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
  if (process.env.BENCH_DATABASE_URL) process.env.TEST_DATABASE_URL = process.env.BENCH_DATABASE_URL;
  const database = await createTestDatabase(backend);
  await applyMigrations(database.url);
  return { backend, database, db: openDatabase(database.url, { max: database.maxConnections }) };
}

/** Linear interpolation between closest ranks (position p·(n−1)) over a sorted copy. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (sorted.length - 1) * p;
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export async function waitFor(done: () => Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A process's name and its /proc stat fields after the name (field 3 on is index 0); undefined once it is gone. */
function procStat(pid: number | string | undefined): { name: string; fields: string[] } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    return { name: stat.slice(stat.indexOf('(') + 1, close), fields: stat.slice(close + 2).split(' ') };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
export function processCpuSeconds(pid: number | undefined): number {
  const fields = procStat(pid)?.fields;
  return fields ? (Number(fields[11]) + Number(fields[12])) / 100 : 0; // USER_HZ: 100 on Linux
}

/**
 * CPU seconds used so far by this process (all its threads: the API, the worker, the load
 * generator's thread), by every PostgreSQL server process and by every Temporal server process on
 * this machine (Linux /proc; 0 elsewhere). Read around a timed part, it says what each side spent
 * per unit of work: on a machine of few cores they compete, so a ratio bounded by CPU moves with
 * any of them.
 */
export function cpuSeconds(): { node: number; postgres: number; temporal: number } {
  const usage = process.cpuUsage();
  const ticks = { postgres: 0, temporal: 0 };
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const stat = procStat(pid);
      const server = stat?.name.startsWith('postgres') ? 'postgres' : stat?.name.startsWith('temporal') ? 'temporal' : undefined;
      if (!stat || !server) continue;
      // utime, stime, and cutime, cstime: the server's exited backends, reaped by the postmaster
      ticks[server] += Number(stat.fields[11]) + Number(stat.fields[12]) + Number(stat.fields[13]) + Number(stat.fields[14]);
    }
  } catch {
    // no /proc
  }
  return { node: (usage.user + usage.system) / 1e6, postgres: ticks.postgres / 100, temporal: ticks.temporal / 100 }; // USER_HZ: 100 on Linux
}

/** Runs a benchmark's main and exits with its outcome (the servers it started may keep handles open). */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
