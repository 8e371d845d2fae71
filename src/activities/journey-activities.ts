import type pg from 'pg';
import { withTransaction } from '../db/sql.ts';
import type { JourneyEffect, StageAdvancedEffect, StageReachedEffect } from '../journey/journey-effects.ts';
import { STAGES } from '../journey/stages.ts';

export interface JourneyActivityDeps {
  pool: pg.Pool;
}

/**
 * The journey's side effects. Every write is idempotent (keyed by developer and stage), so a
 * retried or replayed activity changes nothing twice.
 */
export function createJourneyActivities({ pool }: JourneyActivityDeps) {
  return {
    async recordJourneyEffects(effects: JourneyEffect[]): Promise<void> {
      const stages = earliestPerStage(effects.filter((e): e is StageReachedEffect => e.type === 'recordStage'));
      const transitions = effects.filter((e): e is StageAdvancedEffect => e.type === 'recordTransition');
      const developerIds = [...new Set(effects.map((e) => e.developerId))];
      await withTransaction(pool, async (sql) => {
        // Earliest evidence wins (ties: smaller event id, byte order like the machine's).
        await sql(
          `INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id, late)
           SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::boolean[])
           ON CONFLICT (developer_id, stage) DO UPDATE
             SET reached_at = excluded.reached_at, cause_event_id = excluded.cause_event_id,
                 late = journey_stages.late OR excluded.late, recorded_at = now()
             WHERE (excluded.reached_at, excluded.cause_event_id COLLATE "C")
                 < (journey_stages.reached_at, journey_stages.cause_event_id COLLATE "C")`,
          stages.map((s) => s.developerId),
          stages.map((s) => s.stage),
          stages.map((s) => s.occurredAt),
          stages.map((s) => s.causeEventId),
          stages.map((s) => s.late),
        );
        await sql(
          `INSERT INTO journey_transitions (developer_id, from_stage, to_stage, occurred_at, cause_event_id, machine_version)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::int[])
           ON CONFLICT (developer_id, to_stage) DO NOTHING`,
          transitions.map((t) => t.developerId),
          transitions.map((t) => t.from),
          transitions.map((t) => t.to),
          transitions.map((t) => t.occurredAt),
          transitions.map((t) => t.causeEventId),
          transitions.map((t) => t.machineVersion),
        );
        // The read model's current stage: the furthest stage recorded.
        await sql(
          `INSERT INTO developers (id, stage, stage_rank, stage_at)
           SELECT DISTINCT ON (s.developer_id) s.developer_id, s.stage, array_position($2::text[], s.stage) - 1, s.reached_at
           FROM journey_stages s WHERE s.developer_id = ANY($1::text[])
           ORDER BY s.developer_id, array_position($2::text[], s.stage) DESC
           ON CONFLICT (id) DO UPDATE
             SET stage = excluded.stage, stage_rank = excluded.stage_rank, stage_at = excluded.stage_at, updated_at = now()
             WHERE developers.stage IS DISTINCT FROM excluded.stage OR developers.stage_at IS DISTINCT FROM excluded.stage_at`,
          developerIds,
          [...STAGES],
        );
      });
    },
  };
}

/**
 * One row per developer and stage (an upsert cannot touch a row twice): the machine only emits
 * evidence earlier than what it had, so within a batch the last effect for a stage is the earliest.
 */
function earliestPerStage(stages: StageReachedEffect[]): StageReachedEffect[] {
  const byStage = new Map<string, StageReachedEffect>();
  for (const effect of stages) {
    const key = `${effect.developerId}\u0000${effect.stage}`;
    const late = effect.late || (byStage.get(key)?.late ?? false);
    byStage.set(key, { ...effect, late });
  }
  return [...byStage.values()];
}

export type JourneyActivities = ReturnType<typeof createJourneyActivities>;
