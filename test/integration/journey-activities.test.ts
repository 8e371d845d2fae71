import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJourneyActivities } from '../../src/activities/journey-activities.ts';
import type { Database } from '../../src/db/database.ts';
import type { JourneyEffect } from '../../src/journey/journey-effects.ts';
import { SHIPPED_STAGES, type Stage } from '../../src/journey/stages.ts';
import { databaseBackends } from '../support/test-databases.ts';
import { openMigratedDatabase, type MigratedDatabase } from '../support/migrated-database.ts';

const at = (hour: number) => new Date(Date.UTC(2026, 10, 1, hour)).toISOString();
const reached = (developerId: string, stage: Stage, hour: number, late = false): JourneyEffect => ({
  type: 'recordStage',
  developerId,
  stage,
  funnelVersion: 1,
  occurredAt: at(hour),
  causeEventId: `${stage}@${hour}`,
  late,
});
const advanced = (developerId: string, from: Stage | null, to: Stage, hour: number): JourneyEffect => ({
  type: 'recordTransition',
  developerId,
  from,
  to,
  funnelVersion: 1,
  occurredAt: at(hour),
  causeEventId: `${to}@${hour}`,
  machineVersion: 3,
});

/** Where the machine says the journey stands (it derives the furthest stage; the activity writes it). */
const standing = (developerId: string, stage: Stage, hour: number): JourneyEffect => ({
  type: 'recordCurrentStage',
  developerId,
  funnelVersion: 1,
  stage,
  rank: SHIPPED_STAGES.indexOf(stage as (typeof SHIPPED_STAGES)[number]),
  at: at(hour),
});

describe.each(databaseBackends())('recordJourneyEffects on %s', (backend) => {
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

  const stages = async (developerId: string) =>
    (await db.pool.query(`SELECT stage, reached_at, cause_event_id, late FROM journey_stages WHERE developer_id = $1 ORDER BY stage`, [developerId])).rows.map((r) => ({
      stage: r.stage,
      at: r.reached_at.toISOString(),
      cause: r.cause_event_id,
      late: r.late,
    }));
  const current = async (developerId: string) => {
    const { rows } = await db.pool.query(`SELECT stage, stage_rank, stage_at FROM developers WHERE id = $1`, [developerId]);
    return rows[0] && { stage: rows[0].stage, rank: rows[0].stage_rank, at: rows[0].stage_at?.toISOString() };
  };
  const transitions = async (developerId: string) =>
    (await db.pool.query(`SELECT from_stage, to_stage FROM journey_transitions WHERE developer_id = $1 ORDER BY id`, [developerId])).rows.map(
      (r) => `${r.from_stage}→${r.to_stage}`,
    );

  it('records stages and transitions, and the read model shows where the journey stands', async () => {
    await record([reached('d1', 'account_created', 1), standing('d1', 'account_created', 1), advanced('d1', null, 'account_created', 1)]);
    await record([reached('d1', 'credential_provisioned', 2), standing('d1', 'credential_provisioned', 2), advanced('d1', 'account_created', 'credential_provisioned', 2)]);
    expect(await current('d1')).toEqual({ stage: 'credential_provisioned', rank: 2, at: at(2) });
    expect(await transitions('d1')).toEqual(['null→account_created', 'account_created→credential_provisioned']);
  });

  it('earlier evidence lowers a stage, also the current one (its time in the read model follows)', async () => {
    await record([reached('d2', 'account_created', 5), reached('d2', 'first_api_call', 9), standing('d2', 'first_api_call', 9)]);
    expect(await current('d2')).toEqual({ stage: 'first_api_call', rank: 3, at: at(9) });
    await record([reached('d2', 'first_api_call', 7), standing('d2', 'first_api_call', 7)]);
    expect(await current('d2')).toEqual({ stage: 'first_api_call', rank: 3, at: at(7) });
    // Later evidence changes no row; a stage filled in below the current one keeps the current.
    await record([reached('d2', 'first_api_call', 8), reached('d2', 'credential_provisioned', 6, true)]);
    expect(await current('d2')).toEqual({ stage: 'first_api_call', rank: 3, at: at(7) });
    expect(await stages('d2')).toEqual([
      { stage: 'account_created', at: at(5), cause: 'account_created@5', late: false },
      { stage: 'credential_provisioned', at: at(6), cause: 'credential_provisioned@6', late: true },
      { stage: 'first_api_call', at: at(7), cause: 'first_api_call@7', late: false },
    ]);
  });

  it('is idempotent: a retried activity changes nothing twice', async () => {
    const effects = [
      reached('d3', 'account_created', 1),
      standing('d3', 'account_created', 1),
      advanced('d3', null, 'account_created', 1),
      reached('d3', 'first_api_call', 2),
      standing('d3', 'first_api_call', 2),
      advanced('d3', 'account_created', 'first_api_call', 2),
    ];
    await record(effects);
    const before = { stages: await stages('d3'), current: await current('d3'), transitions: await transitions('d3') };
    await record(effects);
    expect({ stages: await stages('d3'), current: await current('d3'), transitions: await transitions('d3') }).toEqual(before);
    expect(before.current).toEqual({ stage: 'first_api_call', rank: 3, at: at(2) });
  });

  it('records several developers in one call, each where its last effect says', async () => {
    await record([
      reached('d4', 'account_created', 1),
      standing('d4', 'account_created', 1),
      reached('d5', 'intent', 1),
      standing('d5', 'intent', 1),
      reached('d4', 'first_api_call', 3),
      standing('d4', 'first_api_call', 3),
    ]);
    expect(await current('d4')).toEqual({ stage: 'first_api_call', rank: 3, at: at(3) });
    expect(await current('d5')).toEqual({ stage: 'intent', rank: 0, at: at(1) });
  });

  it('records a journey that stands at no stage of a newer funnel version (rank -1)', async () => {
    await record([reached('d6', 'account_created', 1), standing('d6', 'account_created', 1)]);
    // A new funnel version whose stages the developer's events prove none of.
    await record([{ type: 'recordCurrentStage', developerId: 'd6', funnelVersion: 2, stage: null, rank: -1, at: null }]);
    expect(await current('d6')).toEqual({ stage: null, rank: -1, at: undefined });
  });

  it('records the funnel version the journey follows with where it stands, also when only the version changes', async () => {
    const followed = async (developerId: string) => (await db.pool.query(`SELECT funnel_version FROM developers WHERE id = $1`, [developerId])).rows[0]?.funnel_version;
    await record([reached('d7', 'account_created', 1), standing('d7', 'account_created', 1)]);
    expect(await followed('d7')).toBe(1);
    // A new version that keeps the stage and its evidence: the same stage at the same time, under version 2.
    await record([{ type: 'recordCurrentStage', developerId: 'd7', funnelVersion: 2, stage: 'account_created', rank: 0, at: at(1) }]);
    expect(await followed('d7')).toBe(2);
    await record([{ type: 'recordCurrentStage', developerId: 'd7', funnelVersion: 3, stage: null, rank: -1, at: null }]);
    expect(await followed('d7')).toBe(3);
  });
});
