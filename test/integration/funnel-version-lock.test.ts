import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { withTransaction } from '../../src/db/sql.ts';
import { applyFunnelChange } from '../../src/funnel/funnel-change.ts';
import { SHIPPED_FUNNEL_FILE } from '../../src/funnel/funnel-file.ts';
import { FUNNEL_VERSION_LOCK } from '../../src/funnel/funnel-in-force.ts';
import { FunnelStore } from '../../src/funnel/funnel-store.ts';
import { EventIngestor } from '../../src/ingest/event-ingestor.ts';
import { EscalationPolicyStore } from '../../src/rules/escalation-policy-store.ts';
import { RuleStore } from '../../src/rules/rule-store.ts';
import { eventually } from '../support/eventually.ts';
import { openMigratedDatabase, type MigratedDatabase } from '../support/migrated-database.ts';
import { databaseBackends } from '../support/test-databases.ts';

/**
 * Ingest and a funnel change, ordered by the funnel-version lock: a batch that waited for a new
 * version's commit is evaluated under it, never under the version before (PostgreSQL: PGlite has
 * one connection, so nothing there runs at once).
 */

const NEXT = `stages:
  - id: signed_up
    evidence: [{ event: developer.signed_up }]
  - id: called
    evidence: [{ request: { status: 2xx } }]
`;

describe.runIf(databaseBackends().includes('postgres'))('the funnel-version lock (postgres)', () => {
  let database: MigratedDatabase;
  let db: Database;
  beforeAll(async () => {
    database = await openMigratedDatabase('postgres');
    ({ db } = database);
    await new FunnelStore(db.pool).ensureInitialVersion(SHIPPED_FUNNEL_FILE);
  });
  afterAll(async () => {
    await database?.close();
  });

  it('a batch that waits for a new version evaluates under it once it commits', async () => {
    const stores = { funnel: new FunnelStore(db.pool), rules: new RuleStore(db.pool), escalationPolicy: new EscalationPolicyStore(db.pool) };
    const ingestor = new EventIngestor(db.pool);
    // A change holds the lock exclusively until it commits; the batch arrives meanwhile.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const change = withTransaction(db.pool, async (sql) => {
      await sql(`SELECT pg_advisory_xact_lock($1)`, FUNNEL_VERSION_LOCK);
      locked();
      await held;
    });
    await lockTaken;
    const signup = {
      id: 'lock-s',
      type: 'developer.signed_up',
      developerId: 'lock-dev',
      occurredAt: '2026-11-02T00:00:00.000Z',
      properties: { email: 'l@example.com', accountType: 'individual', acquisitionChannel: 'paid' },
    } as const;
    const batch = ingestor.ingest([signup]);
    // The batch waits on the lock (its BEGIN holds it shared, after the change's exclusive hold).
    await eventually(async () => (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)).rows[0]!.n, {
      until: (n) => n > 0,
      describe: 'the batch waiting for the funnel-version lock',
    });
    // The hold ends without a new version: the batch goes on under version 1; then a change.
    release();
    await change;
    await batch;
    const applied = await applyFunnelChange(db.pool, stores, { source: NEXT, author: 't', reason: 'lock order' });
    expect(applied.ok).toBe(true);
    const { rows } = await db.pool.query<{ funnel_version: number; stage: string }>(`SELECT funnel_version, stage FROM stage_evidence WHERE developer_id = 'lock-dev'`);
    expect(rows).toEqual([{ funnel_version: 1, stage: 'account_created' }]);

    // A change that holds the lock while a batch arrives (version 3 stored, not yet committed): the
    // batch waits, and once the change commits it is evaluated under version 3, not 2.
    let releaseChange!: () => void;
    const changeHeld = new Promise<void>((resolve) => (releaseChange = resolve));
    const third = `${NEXT}  - id: paid\n    evidence: [{ event: payment.succeeded }]\n`;
    let changeLocked!: () => void;
    const changeLockTaken = new Promise<void>((resolve) => (changeLocked = resolve));
    const pending = withTransaction(db.pool, async (sql) => {
      await sql(`SELECT pg_advisory_xact_lock($1)`, FUNNEL_VERSION_LOCK);
      await sql(
        `INSERT INTO funnel_versions (version, document, source, author, reason, diff) SELECT 3, document, $1, 't', 'lock order', '' FROM funnel_versions WHERE version = 2`,
        third,
      );
      changeLocked();
      await changeHeld;
    });
    await changeLockTaken;
    const late = ingestor.ingest([{ ...signup, id: 'lock-s2', developerId: 'lock-dev2' }]);
    await eventually(async () => (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)).rows[0]!.n, {
      until: (n) => n > 0,
      describe: 'the batch waiting for the change to commit',
    });
    releaseChange();
    await pending;
    await late;
    const after = await db.pool.query<{ funnel_version: number; stage: string }>(`SELECT funnel_version, stage FROM stage_evidence WHERE developer_id = 'lock-dev2'`);
    expect(after.rows).toEqual([{ funnel_version: 3, stage: 'signed_up' }]);
  });
});
