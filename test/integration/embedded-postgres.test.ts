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
          prisma.event.create({
            data: { id: 'evt_1', type: 'developer.signed_up', developerId: 'dev_1', occurredAt, properties: { plan: 'free' } },
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
        expect(await prisma.event.findUniqueOrThrow({ where: { id: 'evt_1' } })).toMatchObject({
          occurredAt,
          properties: { plan: 'free' },
        });
        expect(typeof outbox.id).toBe('bigint');
        expect(await prisma.event.count({ where: { developerId: 'dev_1' } })).toBe(1);
      } finally {
        await db.close();
      }
    } finally {
      await server.stop();
    }
  }, 60_000);
});
