import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJourneyActivities } from '../../src/activities/journey-activities.ts';
import type { Database } from '../../src/db/database.ts';
import type { JourneyEffect } from '../../src/journey/journey-effects.ts';
import { isoWeekOf } from '../../src/metrics/iso-week.ts';
import { cohortOfWeek } from '../../src/metrics/progress-query.ts';
import { defaultTransitions, stageConversion } from '../../src/metrics/stage-conversion.ts';
import { shippedFunnel } from '../support/shipped-funnel.ts';
import { openMigratedDatabase, type MigratedDatabase } from '../support/migrated-database.ts';
import { databaseBackends } from '../support/test-databases.ts';

/**
 * developer_progress is kept by the database's triggers from developers and journey_stages: what
 * it holds must always be what those rows say, whoever writes them and however.
 */

const ms = (iso: string) => Date.parse(iso);
const reached = (developerId: string, stage: string, occurredAt: string, funnelVersion = 1): JourneyEffect => ({
  type: 'recordStage',
  developerId,
  stage,
  funnelVersion,
  occurredAt,
  causeEventId: `${developerId}/${stage}/${occurredAt}`,
  late: false,
});

interface Progress {
  signedUpMs: number | null;
  channel: string | null;
  accountType: string | null;
  orgId: string | null;
  funnelVersion: number | null;
  /** stage → ms, through the version's slots. */
  stages: Record<string, number>;
}

describe.each(databaseBackends())('developer_progress on %s', (backend) => {
  let database: MigratedDatabase;
  let db: Database;
  let record: (effects: JourneyEffect[]) => Promise<void>;

  beforeAll(async () => {
    database = await openMigratedDatabase(backend);
    ({ db } = database);
    record = createJourneyActivities({ pool: db.pool }).recordJourneyEffects;
  });
  afterAll(async () => {
    await database?.close();
  });

  const progress = async (developerId: string): Promise<Progress | undefined> => {
    const { rows } = await db.pool.query(`SELECT * FROM developer_progress WHERE developer_id = $1`, [developerId]);
    const row = rows[0];
    if (!row) return undefined;
    const slots = (await db.pool.query(`SELECT stage, slot FROM funnel_stage_slots WHERE funnel_version = $1`, [row.funnel_version])).rows;
    const stages: Record<string, number> = {};
    for (const { stage, slot } of slots) if (row[`s${slot}`] !== null) stages[stage] = Number(row[`s${slot}`]);
    // A slot without a stage of the version would hold something no reader can name.
    const named = new Set(slots.map((s) => `s${s.slot}`));
    for (let slot = 0; slot < 20; slot++) if (!named.has(`s${slot}`)) expect(row[`s${slot}`], `s${slot}`).toBeNull();
    // The week the metrics group the signup by names the signup's ISO week.
    expect(row.signup_week === null ? null : cohortOfWeek(row.signup_week)).toBe(row.signed_up_ms === null ? null : isoWeekOf(new Date(Number(row.signed_up_ms))));
    return {
      signedUpMs: row.signed_up_ms === null ? null : Number(row.signed_up_ms),
      channel: row.acquisition_channel,
      accountType: row.account_type,
      orgId: row.org_id,
      funnelVersion: row.funnel_version,
      stages,
    };
  };

  const signUp = (id: string, at: string, channel = 'organic', orgId: string | null = null) =>
    db.pool.query(`UPDATE developers SET signed_up_at = $2, acquisition_channel = $3, account_type = 'individual', org_id = $4 WHERE id = $1`, [id, at, channel, orgId]);

  it('follows the signup and the stages the journey records, earlier evidence included', async () => {
    // As the ingest does: a row for the developer, then the signup's profile.
    await db.pool.query(`INSERT INTO developers (id) VALUES ('p1') ON CONFLICT (id) DO NOTHING`);
    expect(await progress('p1')).toEqual({ signedUpMs: null, channel: null, accountType: null, orgId: null, funnelVersion: null, stages: {} });
    await signUp('p1', '2026-11-02T09:00:00.000Z', 'search', 'acme');
    await record([reached('p1', 'account_created', '2026-11-02T09:00:00.000Z'), reached('p1', 'first_api_call', '2026-11-03T10:00:00.000Z')]);
    expect(await progress('p1')).toEqual({
      signedUpMs: ms('2026-11-02T09:00:00.000Z'),
      channel: 'search',
      accountType: 'individual',
      orgId: 'acme',
      funnelVersion: 1,
      stages: { account_created: ms('2026-11-02T09:00:00.000Z'), first_api_call: ms('2026-11-03T10:00:00.000Z') },
    });
    // Earlier evidence lowers the stage row; a later one leaves it.
    await record([reached('p1', 'first_api_call', '2026-11-02T11:30:00.000Z')]);
    await record([reached('p1', 'first_api_call', '2026-11-04T00:00:00.000Z')]);
    expect((await progress('p1'))!.stages.first_api_call).toBe(ms('2026-11-02T11:30:00.000Z'));
    // The journey's current stage (developers, not its filters) changes nothing else.
    await db.pool.query(`UPDATE developers SET stage = 'first_api_call', stage_rank = 3, updated_at = now() WHERE id = 'p1'`);
    expect((await progress('p1'))!.orgId).toBe('acme');
  });

  it('holds the newest funnel version the developer has stages under, and no older one', async () => {
    await db.pool.query(`INSERT INTO developers (id) VALUES ('p2')`);
    await signUp('p2', '2026-11-05T00:00:00.000Z');
    await record([reached('p2', 'account_created', '2026-11-05T00:00:00.000Z'), reached('p2', 'first_api_call', '2026-11-06T00:00:00.000Z')]);
    await record([reached('p2', 'signed_up', '2026-11-05T00:00:00.000Z', 2)]);
    expect(await progress('p2')).toMatchObject({ funnelVersion: 2, stages: { signed_up: ms('2026-11-05T00:00:00.000Z') } });
    // A straggler of the old version does not take the row back.
    await record([reached('p2', 'quickstart_completed', '2026-11-07T00:00:00.000Z', 1)]);
    expect(await progress('p2')).toMatchObject({ funnelVersion: 2, stages: { signed_up: ms('2026-11-05T00:00:00.000Z') } });
    // Without the new version's rows, the old version's stand again.
    await db.pool.query(`DELETE FROM journey_stages WHERE developer_id = 'p2' AND funnel_version = 2`);
    expect(await progress('p2')).toMatchObject({
      funnelVersion: 1,
      stages: { account_created: ms('2026-11-05T00:00:00.000Z'), first_api_call: ms('2026-11-06T00:00:00.000Z'), quickstart_completed: ms('2026-11-07T00:00:00.000Z') },
    });
  });

  it('follows rows written in SQL, moved or removed, and the developer row removed', async () => {
    await db.pool.query(`INSERT INTO developers (id, signed_up_at, acquisition_channel) VALUES ('p3', '2026-11-09T00:00:00Z', 'ads'), ('p4', '2026-11-09T01:00:00Z', 'ads')`);
    await db.pool.query(
      `INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id) VALUES
         ('p3', 'account_created', '2026-11-09T00:00:00Z', 'a'), ('p3', 'first_api_call', '2026-11-10T00:00:00Z', 'b'), ('p4', 'account_created', '2026-11-09T01:00:00Z', 'c')`,
    );
    await db.pool.query(`UPDATE journey_stages SET reached_at = '2026-11-12T00:00:00Z' WHERE developer_id = 'p3' AND stage = 'first_api_call'`);
    expect((await progress('p3'))!.stages).toEqual({ account_created: ms('2026-11-09T00:00:00Z'), first_api_call: ms('2026-11-12T00:00:00Z') });
    await db.pool.query(`DELETE FROM journey_stages WHERE developer_id = 'p3' AND stage = 'first_api_call'`);
    expect((await progress('p3'))!.stages).toEqual({ account_created: ms('2026-11-09T00:00:00Z') });
    await db.pool.query(`UPDATE developers SET acquisition_channel = 'partner' WHERE id = 'p4'`);
    expect(await progress('p4')).toMatchObject({ channel: 'partner', stages: { account_created: ms('2026-11-09T01:00:00Z') } });
    await db.pool.query(`DELETE FROM journey_stages WHERE developer_id = 'p4'`);
    expect(await progress('p4')).toMatchObject({ funnelVersion: null, stages: {} });
    await db.pool.query(`DELETE FROM developers WHERE id = 'p4'`);
    expect(await progress('p4')).toBeUndefined();
  });

  it('gives a funnel version at most 20 slots: a stage past them is left out, and the write goes through', async () => {
    await db.pool.query(`INSERT INTO developers (id) VALUES ('p5')`);
    const stages = Array.from({ length: 21 }, (_, i) => `stage_${String(i).padStart(2, '0')}`);
    await record(stages.map((stage, i) => reached('p5', stage, new Date(Date.UTC(2026, 10, 1, i)).toISOString(), 7)));
    expect(await db.pool.query(`SELECT count(*)::int AS n FROM journey_stages WHERE developer_id = 'p5'`)).toMatchObject({ rows: [{ n: 21 }] });
    const held = (await progress('p5'))!.stages;
    expect(Object.keys(held).sort()).toEqual(stages.slice(0, 20));
  });

  it('counts a developer still under an older funnel version as having reached none of the newer one’s stages', async () => {
    await db.pool.query(
      `INSERT INTO developers (id, signed_up_at, acquisition_channel) VALUES ('v-new', '2026-11-16T00:00:00Z', 'versions'), ('v-old', '2026-11-16T00:00:00Z', 'versions')`,
    );
    await record([reached('v-new', 'account_created', '2026-11-16T00:00:00.000Z', 12), reached('v-new', 'first_api_call', '2026-11-16T01:00:00.000Z', 12)]);
    // Its stage takes slot 0 of version 11, the column account_created has under version 12.
    await record([reached('v-old', 'some_old_stage', '2026-11-16T00:00:00.000Z', 11)]);
    const report = await stageConversion(
      db.pool,
      { asOf: new Date('2026-12-01T00:00:00Z'), channel: 'versions' },
      'developer',
      { version: 12, document: shippedFunnel },
      defaultTransitions(shippedFunnel),
    );
    expect(report.counted).toBe(2);
    expect(report.reach.find((r) => r.stage === 'account_created')!.reached).toBe(1);
    expect(report.reach.find((r) => r.stage === 'first_api_call')!.reached).toBe(1);
  });

  it.runIf(backend === 'postgres')('loses neither of two transactions writing the same developer’s stages at once', async () => {
    await db.pool.query(`INSERT INTO developers (id) VALUES ('p6')`);
    // The stages' slots exist already (as for all but a version's first developers), so that the lock that gives slots orders nothing here.
    await db.pool.query(
      `INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id) VALUES ('p6-before', 'credential_provisioned', now(), 'x'), ('p6-before', 'first_api_call', now(), 'y')`,
    );
    await db.pool.query(`INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id) VALUES ('p6', 'account_created', '2026-11-01T00:00:00Z', 'a')`);
    const first = await db.pool.connect();
    const second = await db.pool.connect();
    try {
      await first.query('BEGIN');
      await first.query(`INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id) VALUES ('p6', 'credential_provisioned', '2026-11-01T01:00:00Z', 'b')`);
      // The second writes while the first is open: its statement waits on the developer's progress row.
      await second.query('BEGIN');
      const waiting = second.query(`INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id) VALUES ('p6', 'first_api_call', '2026-11-01T02:00:00Z', 'c')`);
      const holder = await waitForLockWait(db.pool);
      expect(holder).toBe(true);
      await first.query('COMMIT');
      await waiting;
      await second.query('COMMIT');
    } finally {
      first.release();
      second.release();
    }
    expect((await progress('p6'))!.stages).toEqual({
      account_created: ms('2026-11-01T00:00:00Z'),
      credential_provisioned: ms('2026-11-01T01:00:00Z'),
      first_api_call: ms('2026-11-01T02:00:00Z'),
    });
  });
});

/** Whether some statement of this database came to wait on a lock, within 10 s. */
async function waitForLockWait(pool: pg.Pool): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
    if (rows.length > 0) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
