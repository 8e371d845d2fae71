/**
 * `npm run bench:stage-writes`: what the row per developer the metrics read (developer_progress,
 * docs/concepts/storage.md#a-row-per-developer-for-the-metrics) costs the journeys. The journeys'
 * statement that records a stage (recordJourneyEffects: a stage row, a transition, where the
 * journey stands) runs STAGE_WRITES_DEVELOPERS developers (default 1,500) × three stages, four at a
 * time, with the database's progress triggers on and, as the baseline of the same run, off
 * (`ALTER TABLE … DISABLE TRIGGER`), alternating rounds in fresh databases of the same PostgreSQL.
 */
import { createJourneyActivities } from '../src/activities/journey-activities.ts';
import type { JourneyEffect } from '../src/journey/journey-effects.ts';
import { benchDatabase, runMain } from './bench-support.ts';

const DEVELOPERS = Number(process.env.STAGE_WRITES_DEVELOPERS ?? 1500);
const ROUNDS = Number(process.env.STAGE_WRITES_ROUNDS ?? 3);
const IN_FLIGHT = 4;
const STAGES = ['account_created', 'credential_provisioned', 'first_api_call'] as const;
const PROGRESS_TRIGGERS = {
  journey_stages: ['journey_stages_progress_insert', 'journey_stages_progress_update', 'journey_stages_progress_delete'],
  developers: ['developers_progress_insert', 'developers_progress_update', 'developers_progress_delete'],
};

/** µs per statement, the statements `IN_FLIGHT` at a time. */
async function round(withProgress: boolean): Promise<number> {
  const { database, db } = await benchDatabase();
  try {
    if (!withProgress)
      for (const [table, triggers] of Object.entries(PROGRESS_TRIGGERS)) for (const t of triggers) await db.pool.query(`ALTER TABLE ${table} DISABLE TRIGGER ${t}`);
    await db.pool.query(`INSERT INTO developers (id, signed_up_at) SELECT 'dev_' || i, now() FROM generate_series(0, $1::int - 1) AS i`, [DEVELOPERS]);
    const { recordJourneyEffects } = createJourneyActivities({ pool: db.pool });
    const started = performance.now();
    for (const [rank, stage] of STAGES.entries()) {
      const at = new Date(Date.UTC(2026, 10, 1, rank)).toISOString();
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async (_, lane) => {
          for (let i = lane; i < DEVELOPERS; i += IN_FLIGHT) {
            const developerId = `dev_${i}`;
            const effects: JourneyEffect[] = [
              { type: 'recordStage', developerId, stage, funnelVersion: 1, occurredAt: at, causeEventId: `${stage}/${i}`, late: false },
              {
                type: 'recordTransition',
                developerId,
                from: rank === 0 ? null : STAGES[rank - 1]!,
                to: stage,
                funnelVersion: 1,
                occurredAt: at,
                causeEventId: `${stage}/${i}`,
                machineVersion: 1,
              },
              { type: 'recordCurrentStage', developerId, funnelVersion: 1, stage, rank, at },
            ];
            await recordJourneyEffects(effects);
          }
        }),
      );
    }
    const elapsed = performance.now() - started;
    if (withProgress) {
      const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM developer_progress WHERE s0 IS NOT NULL OR s1 IS NOT NULL OR s2 IS NOT NULL`);
      if (rows[0]!.n !== DEVELOPERS) throw new Error(`bench: ${rows[0]!.n} progress rows hold stages, expected ${DEVELOPERS}`);
    }
    return (elapsed * 1000) / (DEVELOPERS * STAGES.length);
  } finally {
    await db.close();
    await database.drop();
  }
}

runMain(async () => {
  const withRow: number[] = [];
  const without: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    without.push(await round(false));
    withRow.push(await round(true));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const fmt = (values: number[]) => `${Math.round(median(values))} µs (${values.map(Math.round).join(', ')})`;
  console.log(`\nThe journeys' stage statement, ${DEVELOPERS} developers × ${STAGES.length} stages, ${IN_FLIGHT} in flight, ${ROUNDS} rounds each (median, then each round):\n`);
  console.log('| developer_progress triggers | per statement |\n|---|---|');
  console.log(`| off (baseline) | ${fmt(without)} |`);
  console.log(`| on | ${fmt(withRow)} |`);
  console.log(`\nratio (off / on, medians): ${(median(without) / median(withRow)).toFixed(2)}×`);
});
