import type pg from 'pg';
import type { CurrentStageEffect, JourneyEffect, StageAdvancedEffect, StageReachedEffect } from '../journey/journey-effects.ts';
import { isEarlierSql } from '../journey/evidence-order.ts';
import { isoSql, queueWebhooksSql } from '../webhooks/webhook-events.ts';

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
      const current = lastPerDeveloper(effects.filter((e): e is CurrentStageEffect => e.type === 'recordCurrentStage'));
      // One statement, atomic by itself: a transaction of three was five round trips per transition.
      await pool.query({ name: 'record-journey-effects', text: RECORD_JOURNEY_EFFECTS }, [
        stages.map((s) => s.developerId),
        stages.map((s) => s.funnelVersion),
        stages.map((s) => s.stage),
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
        current.map((c) => c.developerId),
        current.map((c) => c.stage),
        current.map((c) => c.rank),
        current.map((c) => c.at),
        current.map((c) => c.funnelVersion),
      ]);
    },
  };
}

/**
 * $1–$6: the stages reached (the earliest evidence wins: evidence-order.ts), each stage reached for
 * the first time queued as a `stage.reached` webhook; $7–$13: the transitions; $14–$18: where each
 * journey now stands (the read model's current stage, under the funnel version it follows).
 */
const RECORD_JOURNEY_EFFECTS = `
  WITH staged AS (
    INSERT INTO journey_stages (developer_id, funnel_version, stage, reached_at, cause_event_id, late)
    SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::timestamptz[], $5::text[], $6::boolean[])
    ON CONFLICT (developer_id, funnel_version, stage) DO UPDATE
      SET reached_at = excluded.reached_at, cause_event_id = excluded.cause_event_id,
          late = journey_stages.late OR excluded.late, recorded_at = now()
      WHERE ${isEarlierSql(['excluded.reached_at', 'excluded.cause_event_id'], ['journey_stages.reached_at', 'journey_stages.cause_event_id'])}
    RETURNING developer_id, funnel_version, stage, reached_at, cause_event_id, late, xmax = 0 AS is_new),
  announced AS (
    ${queueWebhooksSql(`
      SELECT 'stage.reached', developer_id, 'stage.reached/' || developer_id || '/' || funnel_version || '/' || stage, reached_at,
             jsonb_build_object('developerId', developer_id, 'stage', stage, 'funnelVersion', funnel_version, 'reachedAt', ${isoSql('reached_at')},
                                'causeEventId', cause_event_id, 'late', late)
        FROM staged WHERE is_new`)}),
  transitioned AS (
    INSERT INTO journey_transitions (developer_id, funnel_version, from_stage, to_stage, occurred_at, cause_event_id, machine_version)
    SELECT * FROM unnest($7::text[], $8::int[], $9::text[], $10::text[], $11::timestamptz[], $12::text[], $13::int[])
    ON CONFLICT (developer_id, funnel_version, to_stage) DO NOTHING)
  INSERT INTO developers (id, stage, stage_rank, stage_at, funnel_version)
  SELECT id, stage, rank, at, version
  FROM unnest($14::text[], $15::text[], $16::int[], $17::timestamptz[], $18::int[]) AS c(id, stage, rank, at, version)
  ON CONFLICT (id) DO UPDATE
    SET stage = excluded.stage, stage_rank = excluded.stage_rank, stage_at = excluded.stage_at, funnel_version = excluded.funnel_version, updated_at = now()
    WHERE developers.stage IS DISTINCT FROM excluded.stage OR developers.stage_at IS DISTINCT FROM excluded.stage_at
       OR developers.funnel_version IS DISTINCT FROM excluded.funnel_version`;

/** The last of each developer's effects: where the journey stood when it asked. */
function lastPerDeveloper(current: CurrentStageEffect[]): CurrentStageEffect[] {
  return [...new Map(current.map((c) => [c.developerId, c])).values()];
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
