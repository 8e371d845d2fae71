import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJourneyActivities } from '../../src/activities/journey-activities.ts';
import type { Database } from '../../src/db/database.ts';
import { withTransaction } from '../../src/db/sql.ts';
import type { IngestEvent } from '../../src/events/event-schemas.ts';
import { EventIngestor } from '../../src/ingest/event-ingestor.ts';
import type { JourneyEffect } from '../../src/journey/journey-effects.ts';
import { databaseBackends, type DatabaseBackend } from '../support/test-databases.ts';
import { openMigratedDatabase, type MigratedDatabase } from '../support/migrated-database.ts';

/**
 * Issue 17: on the embedded default one failed statement broke ingest for good ("prepared
 * statement already exists", "Connection terminated unexpectedly"): the pool replaced the failed
 * connection, and the new one met the old one's session. After any kind of failed statement, on
 * any path into the pool, the next ingest and the next journey write must succeed.
 */

const at = (minute: number) => new Date(Date.UTC(2026, 10, 1, 10, minute)).toISOString();

/** Ways a statement fails, each through a different path into the pool. */
function failures(db: Database, backend: DatabaseBackend): Record<string, () => Promise<unknown>> {
  return {
    'a value out of range, through Prisma': () => db.prisma.$queryRawUnsafe(`SELECT '0000-01-01T00:00:00Z'::timestamptz`),
    'a unique violation in a transaction that prepared a named statement': () =>
      withTransaction(db.pool, async (sql) => {
        const insert = { name: 'test-insert-developer', text: 'INSERT INTO developers (id) VALUES ($1)' };
        await sql(insert, 'twice');
        await sql(insert, 'twice');
      }),
    'a statement cancelled mid-transaction (the connection is given up)': async () => {
      const client = await db.pool.connect();
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(17)`);
      try {
        // PostgreSQL cancels it on its own; PGlite has no statement timeout, so the client gives up.
        if (backend === 'postgres') await client.query(`SET LOCAL statement_timeout = '50ms'`);
        await client.query({ text: 'SELECT pg_sleep(0.5)', query_timeout: 100 } as never);
      } catch (error) {
        client.release(error as Error); // a broken client: the pool closes its connection
        throw error;
      }
    },
    'a type error in a plain query': () => db.pool.query('SELECT $1::int', ['not a number']),
  };
}

describe.each(databaseBackends())('after a failed statement, on %s', (backend) => {
  let database: MigratedDatabase;
  let db: Database;
  let ingestor: EventIngestor;
  let record: (effects: JourneyEffect[]) => Promise<void>;
  let round = 0;

  beforeAll(async () => {
    database = await openMigratedDatabase(backend);
    ({ db } = database);
    ingestor = new EventIngestor(db.pool);
    record = createJourneyActivities({ pool: db.pool }).recordJourneyEffects;
  }, 120_000);
  afterAll(async () => {
    await database?.close();
  });

  /** Ingests and records through every named statement of the hot paths; checks what was stored. */
  async function ingestAndRecord(): Promise<void> {
    const developerId = `dev_${backend}_${round++}`;
    const events: IngestEvent[] = [
      {
        id: `${developerId}_signup`,
        type: 'developer.signed_up',
        developerId,
        occurredAt: at(0),
        properties: { email: 'a@example.com', accountType: 'individual', acquisitionChannel: 'direct' },
      },
      { id: `${developerId}_key`, type: 'api_key.created', developerId, occurredAt: at(1), properties: { apiKey: `key_${developerId}`, mode: 'test' } },
      ...[0, 1, 2].map((i): IngestEvent => ({
        id: `${developerId}_req${i}`,
        type: 'api.request',
        occurredAt: at(2 + i),
        properties: { apiKey: `key_${developerId}`, endpoint: `/v1/e${i}`, method: 'GET', status: 200, mode: 'test' },
      })),
    ];
    expect(await ingestor.ingest(events)).toMatchObject({ accepted: 5, duplicates: 0 });
    await record([
      { type: 'recordStage', developerId, stage: 'account_created', funnelVersion: 1, occurredAt: at(0), causeEventId: `${developerId}_signup`, late: false },
      { type: 'recordTransition', developerId, from: null, to: 'account_created', funnelVersion: 1, occurredAt: at(0), causeEventId: `${developerId}_signup`, machineVersion: 3 },
    ]);
    const { rows } = await db.pool.query(
      `SELECT (SELECT count(*)::int FROM events WHERE developer_id = $1) AS events, (SELECT count(*)::int FROM journey_transitions WHERE developer_id = $1) AS transitions`,
      [developerId],
    );
    expect(rows[0]).toEqual({ events: 5, transitions: 1 });
  }

  it('ingests and records before any failure (the named statements are prepared)', async () => {
    await ingestAndRecord();
  });

  for (const kind of [
    'a value out of range, through Prisma',
    'a unique violation in a transaction that prepared a named statement',
    'a statement cancelled mid-transaction (the connection is given up)',
    'a type error in a plain query',
  ]) {
    it(`${kind}: the next ingest and journey write succeed`, async () => {
      await expect(failures(db, backend)[kind]!()).rejects.toThrow();
      await ingestAndRecord();
      await ingestAndRecord(); // and again: the statements re-prepared after the failure still work
    });
  }

  it('nothing of a failed transaction stays behind', async () => {
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM developers WHERE id = 'twice'`);
    expect(rows[0].n).toBe(0);
  });
});
