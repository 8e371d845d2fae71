import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { OutboxDispatcher } from '../../src/ingest/outbox-dispatcher.ts';
import { startTemporalDevServer, type DevServer } from '../../src/temporal/dev-server.ts';
import { journeyWorkflowId, TASK_QUEUE } from '../../workflows/journey-messages.ts';
import { workflowTaskBacklog } from '../../src/temporal/task-queue-backlog.ts';
import { eventually } from '../support/eventually.ts';
import { freePort } from '../../src/temporal/free-port.ts';
import { createMigratedTestDatabase } from '../support/migrated-database.ts';
import { databaseBackends, type TestDatabase } from '../support/test-databases.ts';

/**
 * Several API processes share the outbox, one dispatcher each. A developer's signals reach the
 * journey in the order they were queued even when another dispatcher holds the older ones: the
 * journey advances its stage in the order it hears proofs (production-topology.test.ts found
 * earlier stages recorded as late when a later signal overtook them). No worker runs: the
 * journeys' histories show the signals as the Temporal server took them.
 */
describe.each(databaseBackends())('the outbox dispatchers of several api processes (%s)', (backend) => {
  let database: TestDatabase;
  let db: Database;
  let server: DevServer;
  let connection: Connection;
  let dispatcher: OutboxDispatcher;
  const dataDir = mkdtempSync(join(tmpdir(), 'onramp-outbox-'));
  let run = 0;

  beforeAll(async () => {
    database = await createMigratedTestDatabase(backend);
    db = openDatabase(database.url, { max: database.maxConnections });
    server = await startTemporalDevServer({ dataDir, port: await freePort(), uiPort: await freePort() });
    connection = await Connection.connect({ address: server.address });
    dispatcher = new OutboxDispatcher({ prisma: db.prisma, temporal: new Client({ connection }), logger: pino({ level: 'silent' }) });
  }, 120_000);
  afterAll(async () => {
    await connection?.close();
    await server?.stop();
    await db?.close();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Queues signup, key and first-call signals for a new developer and one for a bystander; returns their row ids. */
  async function queue() {
    const developer = `outbox_${backend}_${run}`;
    const bystander = `outbox_${backend}_${run++}_other`;
    const rows: [string, string][] = [
      [developer, `${developer}-signup`],
      [bystander, `${bystander}-signup`],
      [developer, `${developer}-key#credential_provisioned`],
      [developer, `${developer}-call#first_api_call`],
    ];
    const { rows: ids } = await db.pool.query<{ id: string }>(
      `INSERT INTO outbox_signals (developer_id, signal_id, payload)
       SELECT d, s, json_build_object('id', s, 'type', 'developer.signed_up', 'developerId', d, 'occurredAt', '2026-11-01T10:00:00.000Z')
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(d, s, n) ORDER BY n RETURNING id`,
      [rows.map(([d]) => d), rows.map(([, s]) => s)],
    );
    return { developer, bystander, first: ids[0]!.id };
  }

  const pending = async (developerId: string) =>
    (await db.pool.query<{ signal_id: string; attempts: number }>('SELECT signal_id, attempts FROM outbox_signals WHERE developer_id = $1 ORDER BY id', [developerId])).rows;

  /** The event ids of each signal the developer's journey took, in order. */
  async function signaled(developerId: string): Promise<string[][]> {
    const history = await new Client({ connection }).workflow.getHandle(journeyWorkflowId(developerId)).fetchHistory();
    return (history.events ?? []).flatMap((e) => {
      const data = e.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0]?.data;
      return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }[]).map((event) => event.id)] : [];
    });
  }

  it("leaves a developer's later signals while another dispatcher holds an older one (claimed, or backing off)", async () => {
    const { developer, bystander, first } = await queue();
    // What another dispatcher's claim leaves on the row (a failed delivery's backoff looks the same).
    await db.pool.query("UPDATE outbox_signals SET available_at = now() + interval '60 seconds', attempts = 1 WHERE id = $1", [first]);
    expect(await dispatcher.deliverOnce()).toBe(1); // the bystander's
    expect(await pending(developer)).toEqual([
      { signal_id: `${developer}-signup`, attempts: 1 },
      { signal_id: `${developer}-key#credential_provisioned`, attempts: 0 },
      { signal_id: `${developer}-call#first_api_call`, attempts: 0 },
    ]);
    expect(await pending(bystander)).toEqual([]);
    // The older row's lease ends (its dispatcher died): all three go, in one signal, in order.
    await db.pool.query('UPDATE outbox_signals SET available_at = now() WHERE id = $1', [first]);
    expect(await dispatcher.deliverOnce()).toBe(3);
    expect(await signaled(developer)).toEqual([[`${developer}-signup`, `${developer}-key#credential_provisioned`, `${developer}-call#first_api_call`]]);
  });

  it.skipIf(backend === 'pglite')("leaves a developer's later signals while another dispatcher is claiming an older one (its row locked)", async () => {
    const { developer, first } = await queue();
    const other = new pg.Client({ connectionString: database.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT id FROM outbox_signals WHERE id = $1 FOR UPDATE', [first]);
      expect(await dispatcher.deliverOnce()).toBe(1);
      expect((await pending(developer)).map((r) => r.attempts)).toEqual([0, 0, 0]);
      await other.query('COMMIT');
    } finally {
      await other.end();
    }
    expect(await dispatcher.deliverOnce()).toBe(3);
    expect(await signaled(developer)).toEqual([[`${developer}-signup`, `${developer}-key#credential_provisioned`, `${developer}-call#first_api_call`]]);
  });

  it("claims nothing while the journeys' task queue holds its limit of workflow tasks, and leaves the rows pending", async () => {
    const temporal = new Client({ connection });
    const started = await queue();
    // Two new journeys, each with its first workflow task waiting: no worker runs here.
    expect(await new OutboxDispatcher({ prisma: db.prisma, temporal, logger: pino({ level: 'silent' }), maxTaskBacklog: 0 }).deliverOnce()).toBe(4);
    await eventually(() => workflowTaskBacklog(temporal, TASK_QUEUE), { describe: 'the server counts the two workflow tasks waiting', until: (backlog) => (backlog ?? 0) >= 2 });
    const paced = new OutboxDispatcher({ prisma: db.prisma, temporal, logger: pino({ level: 'silent' }), maxTaskBacklog: 2 });
    const { developer, bystander } = await queue();
    expect(await paced.deliverOnce()).toBe(0);
    expect(await paced.deliverOnce()).toBe(0); // asked again only after FULL_BACKOFF_MS: still full
    expect(paced.pausedRounds).toBe(2);
    // Not claimed: no attempt counted, nothing leased.
    expect((await pending(developer)).map((r) => r.attempts)).toEqual([0, 0, 0]);
    expect((await pending(bystander)).map((r) => r.attempts)).toEqual([0]);
    // A limit above the backlog delivers them.
    const roomy = new OutboxDispatcher({ prisma: db.prisma, temporal, logger: pino({ level: 'silent' }), maxTaskBacklog: 1_000 });
    expect(await roomy.deliverOnce()).toBe(4);
    expect(roomy.pausedRounds).toBe(0);
    expect(await signaled(developer)).toEqual([[`${developer}-signup`, `${developer}-key#credential_provisioned`, `${developer}-call#first_api_call`]]);
    expect(await pending(started.developer)).toEqual([]);
  });
});
