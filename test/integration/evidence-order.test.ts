import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJourneyActivities } from '../../src/activities/journey-activities.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { withTransaction } from '../../src/db/sql.ts';
import { lowerStageEvidence } from '../../src/ingest/stage-evidence.ts';
import { evidenceOrderSql, isEarlier } from '../../src/journey/evidence-order.ts';
import { createMigratedTestDatabase } from '../support/migrated-database.ts';
import { databaseBackends, type TestDatabase } from '../support/test-databases.ts';

interface Proof {
  occurredAt: string;
  eventId: string;
}

// Few instants, so that ties are common; ids whose byte order differs from a locale's
// (`B` < `a`, `e_10` < `e_9`) and from their length order, and non-ASCII ones.
const instants = ['2026-11-01T10:00:00.000Z', '2026-11-01T10:00:00.001Z', '2026-11-01T09:59:59.999Z', '2025-01-01T00:00:00.000Z'];
const ids = ['a', 'B', 'e_10', 'e_9', 'Z', 'é', 'ü1', '日', 'a-1', 'a_1'];
const proofs = fc.uniqueArray(fc.record({ occurredAt: fc.constantFrom(...instants), eventId: fc.constantFrom(...ids) }), {
  minLength: 1,
  maxLength: 6,
  selector: (p) => p.eventId,
});

const earliest = (list: Proof[]) => list.reduce((best, p) => (isEarlier(p, best) ? p : best));

/**
 * The evidence order has two sides: isEarlier in TypeScript (the machine, the ingest side) and
 * the SQL of evidence-order.ts in the statements that keep the earliest evidence. Fed the same
 * proofs in any order, every side must pick the same one.
 */
describe.each(databaseBackends())('the evidence order on %s', (backend) => {
  let database: TestDatabase;
  let db: Database;
  let run = 0;

  beforeAll(async () => {
    database = await createMigratedTestDatabase(backend);
    db = openDatabase(database.url, { max: database.maxConnections });
  });

  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  it('picks the same earliest proof in TypeScript and in SQL, whatever the arrival order', async () => {
    const activities = createJourneyActivities({ pool: db.pool });
    await fc.assert(
      fc.asyncProperty(proofs, async (arrived) => {
        const developerId = `dev_order_${backend}_${run++}`;
        const expected = earliest(arrived);
        // The TS order is independent of arrival order.
        expect(earliest([...arrived].reverse())).toEqual(expected);

        // ORDER BY: the first row of the list sorted in SQL.
        const { rows: sorted } = await db.pool.query<{ event_id: string }>(
          `SELECT event_id FROM unnest($1::timestamptz[], $2::text[]) AS p(occurred_at, event_id) ORDER BY ${evidenceOrderSql('occurred_at', 'event_id')} LIMIT 1`,
          [arrived.map((p) => p.occurredAt), arrived.map((p) => p.eventId)],
        );
        expect(sorted[0]!.event_id).toBe(expected.eventId);

        // The ingest side's stored evidence and the journey's stage rows, lowered one arrival at a time.
        for (const p of arrived) {
          await withTransaction(db.pool, (sql) => lowerStageEvidence(sql, 1, [{ developerId, stage: 'intent', ...p }]));
          await activities.recordJourneyEffects([
            { type: 'recordStage', developerId, stage: 'intent', funnelVersion: 1, occurredAt: p.occurredAt, causeEventId: p.eventId, late: false },
          ]);
        }
        const { rows: stored } = await db.pool.query<{ event_id: string; occurred_at: Date }>('SELECT event_id, occurred_at FROM stage_evidence WHERE developer_id = $1', [
          developerId,
        ]);
        expect({ eventId: stored[0]!.event_id, occurredAt: stored[0]!.occurred_at.toISOString() }).toEqual(expected);
        const { rows: stage } = await db.pool.query<{ cause_event_id: string }>('SELECT cause_event_id FROM journey_stages WHERE developer_id = $1', [developerId]);
        expect(stage[0]!.cause_event_id).toBe(expected.eventId);
      }),
      { numRuns: 40 },
    );
  });
});
