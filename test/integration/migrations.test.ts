import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../src/db/migrate.ts';
import { createTestDatabase, databaseBackends, type TestDatabase } from '../support/test-databases.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const schemaPath = join(root, 'prisma', 'schema.prisma');
const migrationsDir = join(root, 'prisma', 'migrations');
const prisma6 = join(root, '.tools', 'prisma6', 'prisma6.mjs');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// Asynchronous on purpose: the PGlite server the child connects to runs in this process.
function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: root, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

/**
 * What Prisma 6 would change to turn the database into schema.prisma: exit code 0 and an empty
 * script when they match, 2 and the SQL otherwise. With a driver adapter Prisma refuses
 * `--from-url`, so the database is introspected (`db pull`, which writes the schema file it is
 * given) and that schema is diffed.
 */
async function diffDatabaseWithSchema(databaseUrl: string): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), 'onramp-schema-diff-'));
  try {
    const introspected = join(dir, 'database.prisma');
    await writeFile(introspected, 'datasource db {\n  provider = "postgresql"\n  url      = env("DATABASE_URL")\n}\n');
    const pull = await run([prisma6, 'db', 'pull', '--schema', introspected], { DATABASE_URL: databaseUrl });
    if (pull.code !== 0) throw new Error(`prisma db pull failed:\n${pull.stderr}${pull.stdout}`);
    const diff = await run([prisma6, 'migrate', 'diff', '--from-schema-datamodel', introspected, '--to-schema-datamodel', schemaPath, '--script', '--exit-code'], {
      DATABASE_URL: databaseUrl,
    });
    if (diff.code !== 0 && diff.code !== 2) throw new Error(`prisma migrate diff failed:\n${diff.stderr}`);
    return diff;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function query<R extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

async function migrationFolders(): Promise<string[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

beforeAll(async () => {
  // Idempotent and fast once installed; the test setup normally ran it already.
  const setup = await run([join(root, 'scripts', 'setup-prisma6.mjs')]);
  if (setup.code !== 0) throw new Error(`setup-prisma6 failed:\n${setup.stderr}${setup.stdout}`);
}, 300_000);

describe.each(databaseBackends())('migrations on %s', (backend) => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
  }, 60_000);

  afterAll(async () => {
    await db?.drop();
  });

  it('build exactly the schema in schema.prisma on an empty database', async () => {
    const { applied } = await applyMigrations(db.url);
    expect(applied).toEqual(await migrationFolders());

    const diff = await diffDatabaseWithSchema(db.url);
    expect(diff.stdout, diff.stdout).toContain('-- This is an empty migration.');
    expect(diff.code).toBe(0);
  }, 60_000);

  it('are recorded in _prisma_migrations, one finished row per folder with the sha256 of its SQL', async () => {
    const rows = await query<{ migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null; applied_steps_count: number }>(
      db.url,
      'SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
    );
    const expected = await Promise.all(
      (await migrationFolders()).map(async (name) => ({
        migration_name: name,
        checksum: createHash('sha256')
          .update(await readFile(join(migrationsDir, name, 'migration.sql')))
          .digest('hex'),
        rolled_back_at: null,
        applied_steps_count: 1,
      })),
    );
    expect(rows).toMatchObject(expected);
    expect(rows).toHaveLength(expected.length);
    for (const row of rows) expect(row.finished_at).toBeInstanceOf(Date);
  });

  it('apply nothing the second time', async () => {
    const logs: string[] = [];
    expect(await applyMigrations(db.url, { log: (msg) => logs.push(msg) })).toEqual({ applied: [] });
    expect(logs).toEqual([]);
  });

  it('are refused when an applied migration.sql was edited since', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'onramp-migrations-'));
    try {
      await cp(migrationsDir, dir, { recursive: true });
      const [first] = await migrationFolders();
      await appendFile(join(dir, first!, 'migration.sql'), '\n-- edited after it was applied\n');
      await expect(applyMigrations(db.url, { migrationsDir: dir })).rejects.toThrow(new RegExp(`Migration ${first} was modified after it was applied`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('are refused while a migration is recorded as unfinished', async () => {
    await query(db.url, `INSERT INTO _prisma_migrations (id, checksum, migration_name) VALUES ('00000000-0000-0000-0000-000000000000', $1, '99999999999999_interrupted')`, [
      '0'.repeat(64),
    ]);
    try {
      await expect(applyMigrations(db.url)).rejects.toThrow(/Migration 99999999999999_interrupted was started at .* but never finished/);
    } finally {
      await query(db.url, `DELETE FROM _prisma_migrations WHERE migration_name = '99999999999999_interrupted'`);
    }
  });

  // Proves the schema comparison above can fail.
  it('differ from schema.prisma once an index is dropped', async () => {
    await query(db.url, 'DROP INDEX developers_stage_idx');
    const diff = await diffDatabaseWithSchema(db.url);
    expect(diff.code).toBe(2);
    expect(diff.stdout).toContain('CREATE INDEX "developers_stage_idx" ON "developers"("stage");');
  }, 60_000);

  it.runIf(backend === 'postgres')(
    'are applied once when several processes start together',
    async () => {
      const fresh = await createTestDatabase(backend);
      try {
        const results = await Promise.all([1, 2, 3].map(() => applyMigrations(fresh.url)));
        expect(results.flatMap((r) => r.applied).sort()).toEqual(await migrationFolders());
        const rows = await query<{ count: string }>(fresh.url, 'SELECT count(*) FROM _prisma_migrations');
        expect(Number(rows[0]?.count)).toBe((await migrationFolders()).length);
      } finally {
        await fresh.drop();
      }
    },
    60_000,
  );

  it('tell each journey the events its developer sent before the journey could hear of them (developer_first_events)', async () => {
    const fresh = await createTestDatabase(backend);
    const dir = await mkdtemp(join(tmpdir(), 'onramp-migrations-'));
    try {
      await cp(migrationsDir, dir, { recursive: true });
      await rm(join(dir, '20261207090000_developer_first_events'), { recursive: true });
      await applyMigrations(fresh.url, { migrationsDir: dir });
      const event = (id: string, type: string, developerId: string | null, at: string) =>
        query(fresh.url, `INSERT INTO events (id, type, developer_id, occurred_at) VALUES ($1, $2, $3, $4)`, [id, type, developerId, at]);
      await event('inv_b', 'team.invited', 'dev_1', '2026-11-02T10:00:00.000Z');
      await event('inv_a', 'team.invited', 'dev_1', '2026-11-02T10:00:00.000Z'); // a tie: the smaller id
      await event('inv_c', 'team.invited', 'dev_1', '2026-11-03T10:00:00.000Z');
      await event('signup_1', 'developer.signed_up', 'dev_1', '2026-11-01T09:00:00.123Z');
      await event('req_1', 'api.request', 'dev_1', '2026-11-01T09:30:00.000Z'); // requests are not told
      await event('inv_x', 'team.invited', null, '2026-11-01T09:00:00.000Z'); // not attributed
      await event('inv_gone', 'team.invited', 'dev_gone', '2026-11-01T09:00:00.000Z');
      await query(fresh.url, `INSERT INTO developer_deletions (developer_id, deleted_by) VALUES ('dev_gone', 'test')`);

      await applyMigrations(fresh.url);
      expect(await query(fresh.url, `SELECT developer_id, event_type, event_id FROM developer_first_events ORDER BY event_type`)).toEqual([
        { developer_id: 'dev_1', event_type: 'developer.signed_up', event_id: 'signup_1' },
        { developer_id: 'dev_1', event_type: 'team.invited', event_id: 'inv_a' },
      ]);
      expect(await query(fresh.url, `SELECT developer_id, signal_id, payload FROM outbox_signals ORDER BY id`)).toEqual([
        {
          developer_id: 'dev_1',
          signal_id: 'signup_1#seen',
          payload: { id: 'signup_1#seen', type: 'event.seen', eventType: 'developer.signed_up', occurredAt: '2026-11-01T09:00:00.123Z' },
        },
        {
          developer_id: 'dev_1',
          signal_id: 'inv_a#seen',
          payload: { id: 'inv_a#seen', type: 'event.seen', eventType: 'team.invited', occurredAt: '2026-11-02T10:00:00.000Z' },
        },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await fresh.drop();
    }
  }, 60_000);
});
