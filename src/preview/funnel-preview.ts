import type pg from 'pg';
import { compileFunnel, evaluateFunnel, type FunnelEvent } from '../funnel/evaluate-funnel.ts';
import type { FunnelDocument } from '../funnel/funnel-schema.ts';
import { signupCohortSql } from '../metrics/metrics-query.ts';

/**
 * What a candidate funnel would say of the stored history, before anyone applies it: per stage,
 * how many developers reach it and what share of those who reached the stage before do; the same
 * per weekly signup cohort; and the developers whose current stage would change, against the
 * stages recorded today. Read only: every developer with events, in batches, each evaluated with
 * the funnel document's own evaluation (evaluate-funnel.ts).
 */

export interface FunnelPreviewStage {
  id: string;
  label?: string;
  /** Developers whose events reach this stage. */
  reached: number;
  /** Of those who reached the stage before, the share who reach this one; null for the first stage or when none reached the one before. */
  conversion: number | null;
}

export interface FunnelPreviewCohort {
  /** The ISO week of the developer's signup (`2026-W45`), as every metric's cohort; null: no signup stored. */
  week: string | null;
  developers: number;
  /** Per stage, in funnel order: how many of the cohort reach it. */
  reached: number[];
}

export interface StageChange {
  developerId: string;
  /** The current stage recorded today (the read model), or null. */
  from: string | null;
  /** The current stage under the candidate (its furthest reached stage), or null. */
  to: string | null;
}

export interface FunnelPreview {
  developers: number;
  stages: FunnelPreviewStage[];
  cohorts: FunnelPreviewCohort[];
  /** How many developers' current stage would change, and the first of them by id. */
  changed: { count: number; sample: StageChange[] };
}

export interface FunnelPreviewOptions {
  /** Developers per read (their events are held in memory at once); default 500. */
  batchSize?: number;
  /** How many changed developers to list; default 20. */
  sample?: number;
  /** Called after each batch with the developers done so far. */
  onProgress?: (done: number) => void;
}

export async function previewFunnel(pool: pg.Pool, funnel: FunnelDocument, options: FunnelPreviewOptions = {}): Promise<FunnelPreview> {
  const batchSize = options.batchSize ?? 500;
  const sampleSize = options.sample ?? 20;
  const compiled = compileFunnel(funnel);
  const ids = funnel.stages.map((s) => s.id);
  const reachedPairs = ids.map(() => 0);
  const reachedAlone = ids.map(() => 0);
  const cohorts = new Map<string | null, FunnelPreviewCohort>();
  const changed: FunnelPreview['changed'] = { count: 0, sample: [] };
  let developers = 0;

  for (let after = ''; ;) {
    const { rows: batch } = await pool.query<{ developer_id: string }>(
      `SELECT DISTINCT developer_id FROM events WHERE developer_id IS NOT NULL AND developer_id > $1 ORDER BY developer_id LIMIT $2`,
      [after, batchSize],
    );
    if (batch.length === 0) break;
    const developerIds = batch.map((r) => r.developer_id);
    after = developerIds.at(-1)!;
    const [eventsOf, currentOf, cohortOf] = await Promise.all([readEvents(pool, developerIds), readRecordedCurrentStages(pool, developerIds), readCohorts(pool, developerIds)]);

    for (const developerId of developerIds) {
      const events = eventsOf.get(developerId) ?? [];
      const reached = evaluateFunnel(compiled, events);
      const flags = ids.map((id) => reached.has(id));
      flags.forEach((isReached, i) => {
        if (isReached) reachedAlone[i]!++;
        if (isReached && i > 0 && flags[i - 1]) reachedPairs[i]!++;
      });
      const week = cohortOf.get(developerId) ?? null;
      const cohort = cohorts.get(week) ?? { week, developers: 0, reached: ids.map(() => 0) };
      cohort.developers++;
      flags.forEach((isReached, i) => isReached && cohort.reached[i]!++);
      cohorts.set(week, cohort);

      const to = ids.findLast((id) => reached.has(id)) ?? null;
      const from = currentOf.get(developerId) ?? null;
      if (to !== from) {
        changed.count++;
        if (changed.sample.length < sampleSize) changed.sample.push({ developerId, from, to });
      }
    }
    developers += developerIds.length;
    options.onProgress?.(developers);
  }

  return {
    developers,
    stages: funnel.stages.map((stage, i) => ({
      id: stage.id,
      ...(stage.label ? { label: stage.label } : {}),
      reached: reachedAlone[i]!,
      conversion: i === 0 || reachedAlone[i - 1] === 0 ? null : reachedPairs[i]! / reachedAlone[i - 1]!,
    })),
    cohorts: [...cohorts.values()].sort((a, b) => (a.week ?? '\uffff').localeCompare(b.week ?? '\uffff')),
    changed,
  };
}

async function readEvents(pool: pg.Pool, developerIds: string[]): Promise<Map<string, FunnelEvent[]>> {
  const { rows } = await pool.query<{ id: string; type: string; developer_id: string; occurred_at: Date; properties: Record<string, unknown> }>(
    `SELECT id, type, developer_id, occurred_at, properties FROM events WHERE developer_id = ANY($1::text[])`,
    [developerIds],
  );
  const byDeveloper = new Map<string, FunnelEvent[]>();
  for (const r of rows) {
    const events = byDeveloper.get(r.developer_id) ?? [];
    events.push({ id: r.id, type: r.type, occurredAt: r.occurred_at.toISOString(), properties: r.properties });
    byDeveloper.set(r.developer_id, events);
  }
  return byDeveloper;
}

/** The current stage recorded today: the read model's, as the journey that follows the funnel in force left it. */
async function readRecordedCurrentStages(pool: pg.Pool, developerIds: string[]): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ id: string; stage: string }>(`SELECT id, stage FROM developers WHERE id = ANY($1::text[]) AND stage IS NOT NULL`, [developerIds]);
  return new Map(rows.map((r) => [r.id, r.stage]));
}

/** Each signed-up developer's signup cohort, as the metrics name it. */
async function readCohorts(pool: pg.Pool, developerIds: string[]): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ id: string; cohort: string }>(
    `SELECT id, ${signupCohortSql('signed_up_at')} AS cohort FROM developers WHERE id = ANY($1::text[]) AND signed_up_at IS NOT NULL`,
    [developerIds],
  );
  return new Map(rows.map((r) => [r.id, r.cohort]));
}
