import type pg from 'pg';
import type { JourneyEffect, StageAdvancedEffect, StageReachedEffect } from '../journey/journey-effects.ts';
import { isEarlierSql } from '../journey/evidence-order.ts';

export interface JourneyActivityDeps {
  pool: pg.Pool;
}

/**
 * The journey's side effects. Every write is idempotent (keyed by developer, funnel version and
 * stage), so a retried or replayed activity changes nothing twice.
 */
export function createJourneyActivities({ pool }: JourneyActivityDeps) {
  return {
    async recordJourneyEffects(effects: JourneyEffect[]): Promise<void> {
      const stages = earliestPerStage(effects.filter((e): e is StageReachedEffect => e.type === 'recordStage'));
      const transitions = effects.filter((e): e is StageAdvancedEffect => e.type === 'recordTransition');
      const followed = followedVersions(effects);
      // One statement, atomic by itself: a transaction of three was five round trips per transition.
      await pool.query({ name: 'record-journey-effects', text: RECORD_JOURNEY_EFFECTS }, [
        stages.map((s) => s.developerId),
        stages.map((s) => s.funnelVersion),
        stages.map((s) => s.stage),
        stages.map((s) => s.rank),
        stages.map((s) => s.occurredAt),
        stages.map((s) => s.causeEventId),
        stages.map((s) => s.late),
        transitions.map((t) => t.developerId),
        transitions.map((t) => t.funnelVersion),
        transitions.map((t) => t.from),
        transitions.map((t) => t.to),
        transitions.map((t) => t.occurredAt),
        transitions.map((t) => t.causeEventId),
        transitions.map((t) => t.machineVersion),
        [...followed.keys()],
        [...followed.values()],
      ]);
    },
  };
}

/**
 * $1–$7: the stages reached (the earliest evidence wins: evidence-order.ts); $8–$14: the
 * transitions; $15–$16: each developer and the funnel version their journey follows. The read
 * model's current stage is the furthest stage recorded under that version: the stored rows, as
 * updated by this statement (which does not see its own writes, so the updated rows come from
 * RETURNING).
 */
const RECORD_JOURNEY_EFFECTS = `
  WITH staged AS (
    INSERT INTO journey_stages (developer_id, funnel_version, stage, stage_rank, reached_at, cause_event_id, late)
    SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::int[], $5::timestamptz[], $6::text[], $7::boolean[])
    ON CONFLICT (developer_id, funnel_version, stage) DO UPDATE
      SET reached_at = excluded.reached_at, cause_event_id = excluded.cause_event_id,
          late = journey_stages.late OR excluded.late, recorded_at = now()
      WHERE ${isEarlierSql(['excluded.reached_at', 'excluded.cause_event_id'], ['journey_stages.reached_at', 'journey_stages.cause_event_id'])}
    RETURNING developer_id, funnel_version, stage, stage_rank, reached_at),
  transitioned AS (
    INSERT INTO journey_transitions (developer_id, funnel_version, from_stage, to_stage, occurred_at, cause_event_id, machine_version)
    SELECT * FROM unnest($8::text[], $9::int[], $10::text[], $11::text[], $12::timestamptz[], $13::text[], $14::int[])
    ON CONFLICT (developer_id, funnel_version, to_stage) DO NOTHING),
  followed AS (SELECT * FROM unnest($15::text[], $16::int[]) AS f(developer_id, funnel_version)),
  recorded AS (
    SELECT s.developer_id, s.stage, s.stage_rank, s.reached_at FROM staged s JOIN followed f USING (developer_id, funnel_version)
    UNION ALL
    SELECT s.developer_id, s.stage, s.stage_rank, s.reached_at FROM journey_stages s JOIN followed f USING (developer_id, funnel_version)
    WHERE NOT EXISTS (SELECT 1 FROM staged n WHERE n.developer_id = s.developer_id AND n.funnel_version = s.funnel_version AND n.stage = s.stage))
  INSERT INTO developers (id, stage, stage_rank, stage_at)
  SELECT DISTINCT ON (developer_id) developer_id, stage, stage_rank, reached_at
  FROM recorded ORDER BY developer_id, stage_rank DESC
  ON CONFLICT (id) DO UPDATE
    SET stage = excluded.stage, stage_rank = excluded.stage_rank, stage_at = excluded.stage_at, updated_at = now()
    WHERE developers.stage IS DISTINCT FROM excluded.stage OR developers.stage_at IS DISTINCT FROM excluded.stage_at`;

/** Per developer, the funnel version the effects were decided under (the newest, should a journey have just adopted one). */
function followedVersions(effects: JourneyEffect[]): Map<string, number> {
  const followed = new Map<string, number>();
  for (const e of effects) followed.set(e.developerId, Math.max(followed.get(e.developerId) ?? 0, e.funnelVersion));
  return followed;
}

/**
 * One row per developer, version and stage (an upsert cannot touch a row twice): the machine only
 * emits evidence earlier than what it had, so within a batch the last effect for a stage is the
 * earliest.
 */
function earliestPerStage(stages: StageReachedEffect[]): StageReachedEffect[] {
  const byStage = new Map<string, StageReachedEffect>();
  for (const effect of stages) {
    const key = `${effect.developerId}\u0000${effect.funnelVersion}\u0000${effect.stage}`;
    const late = effect.late || (byStage.get(key)?.late ?? false);
    byStage.set(key, { ...effect, late });
  }
  return [...byStage.values()];
}

export type JourneyActivities = ReturnType<typeof createJourneyActivities>;
