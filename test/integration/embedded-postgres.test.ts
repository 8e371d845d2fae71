import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';
import { applyMigrations } from '../../src/db/migrate.ts';
import { openDatabase } from '../../src/db/database.ts';

async function query<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('startEmbeddedPostgres', () => {
  it('keeps committed rows in its data directory across stop and start', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'onramp-pglite-'));
    const dataDir = join(parent, 'not', 'yet', 'there');
    try {
      const first = await startEmbeddedPostgres({ dataDir });
      expect(first.url).toMatch(/^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
      await query(first.url, `CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'kept')`);
      await first.stop();
      await first.stop(); // a second stop is harmless

      const second = await startEmbeddedPostgres({ dataDir });
      try {
        expect(await query(second.url, 'SELECT id, body FROM notes')).toEqual([{ id: 1, body: 'kept' }]);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  }, 120_000);

  it('gives each connection a fresh session, one connection at a time (the next waits, then starts clean)', async () => {
    const server = await startEmbeddedPostgres({ connectionWaitMs: 30_000 });
    try {
      const first = new pg.Client({ connectionString: server.url });
      await first.connect();
      await first.query({ name: 'left-behind', text: 'SELECT 1 AS one' });
      await first.query(`SET application_name = 'first'`);
      await first.query('CREATE TEMP TABLE scratch (x int)');
      await first.query('SELECT pg_advisory_lock(42)');
      await first.query('BEGIN');
      await first.query('CREATE TABLE uncommitted (x int)');

      // Connects while the first still holds the session: waits instead of being refused.
      const second = new pg.Client({ connectionString: server.url });
      const connected = second.connect();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await first.end();
      await connected;
      try {
        await second.query({ name: 'left-behind', text: 'SELECT 2 AS two' }); // not "already exists"
        const { rows } = await second.query(
          `SELECT current_setting('application_name') AS app, to_regclass('pg_temp.scratch') AS temp, to_regclass('uncommitted') AS uncommitted,
                  pg_try_advisory_lock(42) AS lock_free, (SELECT count(*)::int FROM pg_prepared_statements WHERE name = 'left-behind') AS prepared`,
        );
        expect(rows[0]).toEqual({ app: '', temp: null, uncommitted: null, lock_free: true, prepared: 1 });
      } finally {
        await second.end();
      }
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('refuses a connection that waited too long with PostgreSQL\'s "too many connections" (53300)', async () => {
    const server = await startEmbeddedPostgres({ connectionWaitMs: 300 });
    const holder = new pg.Client({ connectionString: server.url });
    try {
      await holder.connect();
      const late = new pg.Client({ connectionString: server.url });
      await expect(late.connect()).rejects.toMatchObject({ code: '53300' });
      expect((await holder.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await holder.end();
      await server.stop();
    }
  }, 60_000);

  it('serves Prisma Client through adapter-pg', async () => {
    const server = await startEmbeddedPostgres();
    try {
      await applyMigrations(server.url);
      const db = openDatabase(server.url, { max: 1 });
      const { prisma } = db;
      try {
        const occurredAt = new Date('2026-01-02T03:04:05.678Z');
        await prisma.$transaction([
          prisma.developer.create({ data: { id: 'dev_1', email: 'ada@example.com' } }),
          prisma.developerFirstEvent.create({
            data: { developerId: 'dev_1', eventType: 'developer.signed_up', occurredAt, eventId: 'evt_1' },
          }),
        ]);
        await prisma.developer.upsert({
          where: { id: 'dev_1' },
          create: { id: 'dev_1' },
          update: { stage: 'signed_up', stageRank: 0 },
        });
        const outbox = await prisma.outboxSignal.create({
          data: { developerId: 'dev_1', signalId: 'sig_1', payload: { type: 'stage' } },
        });

        expect(await prisma.developer.findUniqueOrThrow({ where: { id: 'dev_1' } })).toMatchObject({
          email: 'ada@example.com',
          stage: 'signed_up',
          stageRank: 0,
        });
        expect(await prisma.developerFirstEvent.findUniqueOrThrow({ where: { developerId_eventType: { developerId: 'dev_1', eventType: 'developer.signed_up' } } })).toMatchObject({
          occurredAt,
          eventId: 'evt_1',
        });
        expect(typeof outbox.id).toBe('bigint');
        expect(await prisma.developerFirstEvent.count({ where: { developerId: 'dev_1' } })).toBe(1);
      } finally {
        await db.close();
      }
    } finally {
      await server.stop();
    }
  }, 60_000);
});
