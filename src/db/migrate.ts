import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { packagePath } from '../package-root.ts';

// Prisma 7's migrate commands need a native engine these machines cannot download, so the SQL in
// prisma/migrations is applied here, keeping Prisma's `_prisma_migrations` bookkeeping so that
// `prisma migrate status|deploy` stay valid wherever the engine is available.

const defaultMigrationsDir = packagePath('prisma', 'migrations');

// Prisma Migrate's own advisory lock key: holding it also keeps a `prisma migrate deploy` out.
const migrateLockKey = 72707369;

// Prisma's DDL, column for column.
const createMigrationsTable = `
  CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
  )`;

export interface ApplyMigrationsOptions {
  /** Folder of `<name>/migration.sql`; defaults to the repository's prisma/migrations. */
  migrationsDir?: string;
  log?: (msg: string) => void;
}

interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  started_at: Date;
}

/**
 * Applies the migrations not yet recorded in `_prisma_migrations`, in name order, each in one
 * transaction with its bookkeeping row, so that a failure leaves nothing half-applied (Prisma
 * runs them outside transactions; statements that must, such as CREATE INDEX CONCURRENTLY, are
 * not supported here). Refuses to run when an applied migration was edited afterwards or when a
 * row is unfinished (a failed `prisma migrate deploy`). Concurrent callers wait for each other.
 */
export async function applyMigrations(databaseUrl: string, opts: ApplyMigrationsOptions = {}): Promise<{ applied: string[] }> {
  const log = opts.log ?? (() => {});
  const migrations = await readMigrations(opts.migrationsDir ?? defaultMigrationsDir);

  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // A session lock rather than one transaction for everything: each migration commits alone.
    await client.query('SELECT pg_advisory_lock($1)', [migrateLockKey]);
    try {
      await client.query(createMigrationsTable);
      const { rows } = await client.query<MigrationRow>(
        `SELECT migration_name, checksum, finished_at, started_at
           FROM _prisma_migrations WHERE rolled_back_at IS NULL`,
      );
      const applied = checkAppliedMigrations(rows, migrations, log);

      const pending = migrations.filter((m) => !applied.has(m.name));
      for (const migration of pending) {
        const startedAt = Date.now();
        await applyMigration(client, migration);
        log(`Applied migration ${migration.name} in ${Date.now() - startedAt} ms`);
      }
      return { applied: pending.map((m) => m.name) };
    } finally {
      // Fails only when the connection is gone, which released the lock already. Unlocking still
      // matters on PGlite, whose single session outlives this connection.
      await client.query('SELECT pg_advisory_unlock($1)', [migrateLockKey]).catch(() => {});
    }
  } finally {
    await client.end();
  }
}

async function readMigrations(dir: string): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort(); // code-unit order, as Prisma's
  return Promise.all(
    names.map(async (name) => {
      const file = join(dir, name, 'migration.sql');
      const sql = await readFile(file, 'utf8').catch((error: unknown) => {
        throw new Error(`Migration folder ${name} has no readable migration.sql (${file})`, { cause: error });
      });
      return { name, sql, checksum: sha256(sql) };
    }),
  );
}

/** Returns the names already applied, after checking they are intact. */
function checkAppliedMigrations(rows: MigrationRow[], migrations: Migration[], log: (msg: string) => void): Set<string> {
  const unfinished = rows.find((r) => r.finished_at === null);
  if (unfinished) {
    throw new Error(
      `Migration ${unfinished.migration_name} was started at ${unfinished.started_at.toISOString()} ` +
        'but never finished (a failed or interrupted `prisma migrate deploy`?). Check the database, ' +
        'then set its rolled_back_at to have it applied again, or its finished_at if it is complete ' +
        '(what `prisma migrate resolve` does).',
    );
  }

  const byName = new Map(migrations.map((m) => [m.name, m]));
  for (const row of rows) {
    const migration = byName.get(row.migration_name);
    if (!migration) {
      log(`Migration ${row.migration_name} is applied in the database but missing from the migrations folder`);
    } else if (!matchesChecksum(migration.sql, row.checksum)) {
      throw new Error(
        `Migration ${row.migration_name} was modified after it was applied: its migration.sql has ` +
          `checksum ${migration.checksum}, the database recorded ${row.checksum}. Restore the file ` +
          'and put the change in a new migration.',
      );
    }
  }
  return new Set(rows.map((r) => r.migration_name));
}

async function applyMigration(client: pg.Client, migration: Migration): Promise<void> {
  const id = randomUUID();
  await client.query('BEGIN');
  try {
    await client.query(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at)
       VALUES ($1, $2, $3, clock_timestamp())`,
      [id, migration.checksum, migration.name],
    );
    // Without parameters pg uses the simple query protocol, which runs a multi-statement script.
    await client.query(migration.sql);
    await client.query(`UPDATE _prisma_migrations SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`, [id]);
    await client.query('COMMIT');
  } catch (error) {
    // If even ROLLBACK fails the connection is gone, and the server rolls back by itself.
    await client.query('ROLLBACK').catch(() => {});
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Migration ${migration.name} failed and was rolled back: ${reason}`, { cause: error });
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

// Like Prisma: a checkout that converted line endings (git on Windows) still matches.
function matchesChecksum(sql: string, checksum: string): boolean {
  return [sql, sql.replaceAll('\r\n', '\n'), sql.replaceAll('\n', '\r\n')].some((s) => sha256(s) === checksum);
}
