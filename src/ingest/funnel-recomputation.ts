import type pg from 'pg';
import { withTransaction, type Sql } from '../db/sql.ts';
import { compileFunnel, evaluateFunnel, type FunnelEvent } from '../funnel/evaluate-funnel.ts';
import { stageIds, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import type { FunnelChangedEvent } from '../journey/journey-event.ts';
import { enqueueSignals, lockDevelopers, type QueuedSignal } from './event-ingestor.ts';
import { lowerStageEvidence, type EvidenceCandidate } from './stage-evidence.ts';

/**
 * A new funnel version applies to everyone: every developer's stage evidence is recomputed from
 * the stored events under it (the document's own evaluation, src/funnel/evaluate-funnel.ts), and
 * each journey hears it as one `funnel.changed` through the outbox. Batched by developer id and
 * resumable: the row in `funnel_recomputations` says where it stands, and each batch is one
 * transaction that holds the row (so several API processes take turns, never the same batch).
 */

export interface RecomputationStatus {
  funnelVersion: number;
  status: 'running' | 'done' | 'superseded';
  developersDone: number;
  /** Developers with a row today: the total the recomputation is heading for. */
  developersTotal: number;
  startedAt: string;
  finishedAt: string | null;
}

export interface RecomputerOptions {
  /** Developers per batch (one transaction each); default 200. */
  batchSize?: number;
  /** After each batch that queued signals (the dispatcher's wake-up). */
  onSignalsQueued?: () => void;
}

export class FunnelRecomputer {
  private running: Promise<void> | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: RecomputerOptions = {},
  ) {}

  /** Runs the recomputation in force to its end, unless one is already running in this process; resolves when done. */
  run(): Promise<void> {
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** The newest recomputation, if any. */
  async status(): Promise<RecomputationStatus | undefined> {
    const { rows } = await this.pool.query<{
      funnel_version: number;
      status: RecomputationStatus['status'];
      developers_done: number;
      total: number;
      started_at: Date;
      finished_at: Date | null;
    }>(`SELECT r.*, (SELECT count(*)::int FROM developers) AS total FROM funnel_recomputations r ORDER BY funnel_version DESC LIMIT 1`);
    const r = rows[0];
    return (
      r && {
        funnelVersion: r.funnel_version,
        status: r.status,
        developersDone: r.developers_done,
        developersTotal: Math.max(r.total, r.developers_done),
        startedAt: r.started_at.toISOString(),
        finishedAt: r.finished_at?.toISOString() ?? null,
      }
    );
  }

  private async drain(): Promise<void> {
    for (;;) {
      const outcome = await withTransaction(this.pool, (sql) => this.batch(sql));
      if (outcome.queued) this.options.onSignalsQueued?.();
      if (outcome.finished) return;
    }
  }

  /** One batch: the next developers after the last one done, or the end. */
  private async batch(sql: Sql): Promise<{ finished: boolean; queued: boolean }> {
    const [job] = await sql<{ funnel_version: number; last_developer_id: string | null }>(
      `SELECT funnel_version, last_developer_id FROM funnel_recomputations WHERE status = 'running' ORDER BY funnel_version DESC LIMIT 1 FOR UPDATE`,
    );
    if (!job) return { finished: true, queued: false };
    const [inForce] = await sql<FunnelVersion>(`SELECT version, document FROM funnel_versions WHERE version = $1`, job.funnel_version);
    const ids = (
      await sql<{ id: string }>(
        `SELECT id FROM developers WHERE $1::text IS NULL OR id COLLATE "C" > $1::text ORDER BY id COLLATE "C" LIMIT $2`,
        job.last_developer_id,
        this.options.batchSize ?? 200,
      )
    ).map((r) => r.id);
    if (ids.length === 0 || !inForce) {
      await sql(`UPDATE funnel_recomputations SET status = 'done', finished_at = now() WHERE funnel_version = $1`, job.funnel_version);
      // Older versions' evidence is no one's now: ingest and the journeys follow this one.
      await sql(`DELETE FROM stage_evidence WHERE funnel_version < $1`, job.funnel_version);
      return { finished: true, queued: false };
    }
    // The ingest's per-developer locks: a batch evaluating a threshold for these developers waits.
    await lockDevelopers(sql, ids);
    const signals = await recomputeDevelopers(sql, inForce, ids);
    await enqueueSignals(sql, signals);
    await sql(
      `UPDATE funnel_recomputations SET developers_done = developers_done + $2, last_developer_id = $3 WHERE funnel_version = $1`,
      job.funnel_version,
      ids.length,
      ids.at(-1)!,
    );
    return { finished: false, queued: signals.length > 0 };
  }
}

/** The developers' evidence under `inForce`, stored (earliest wins, beside what ingest stored meanwhile), as one signal each. */
async function recomputeDevelopers(sql: Sql, inForce: FunnelVersion, developerIds: string[]): Promise<QueuedSignal[]> {
  const rows = await sql<{ id: string; type: string; developer_id: string; occurred_at: Date; properties: Record<string, unknown> }>(
    `SELECT id, type, developer_id, occurred_at, properties FROM events WHERE developer_id = ANY($1::text[])`,
    developerIds,
  );
  const eventsOf = new Map<string, FunnelEvent[]>();
  for (const r of rows) {
    const list = eventsOf.get(r.developer_id) ?? eventsOf.set(r.developer_id, []).get(r.developer_id)!;
    list.push({ id: r.id, type: r.type, occurredAt: r.occurred_at.toISOString(), properties: r.properties });
  }
  const compiled = compileFunnel(inForce.document);
  const candidates: EvidenceCandidate[] = [];
  for (const [developerId, events] of eventsOf) {
    for (const [stage, proof] of evaluateFunnel(compiled, events)) candidates.push({ developerId, stage, occurredAt: proof.occurredAt, eventId: proof.eventId });
  }
  await lowerStageEvidence(sql, inForce.version, candidates);
  const stored = await sql<{ developer_id: string; stage: string; occurred_at: Date; event_id: string }>(
    `SELECT developer_id, stage, occurred_at, event_id FROM stage_evidence WHERE developer_id = ANY($1::text[]) AND funnel_version = $2`,
    [...eventsOf.keys()],
    inForce.version,
  );
  const evidenceOf = new Map<string, FunnelChangedEvent['evidence']>([...eventsOf.keys()].map((id) => [id, {}]));
  for (const r of stored) evidenceOf.get(r.developer_id)![r.stage] = { occurredAt: r.occurred_at.toISOString(), eventId: r.event_id };
  const funnel = { version: inForce.version, stages: stageIds(inForce.document) };
  const now = new Date().toISOString();
  return [...evidenceOf].map(([developerId, evidence]) => ({
    developerId,
    event: { id: `funnel:v${inForce.version}`, type: 'funnel.changed', occurredAt: now, funnel, evidence },
  }));
}
