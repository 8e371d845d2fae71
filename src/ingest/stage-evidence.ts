import type { Sql } from '../db/sql.ts';
import { isEarlier, isEarlierSql } from '../journey/evidence-order.ts';
import type { Stage } from '../journey/stages.ts';

/** A proof of a stage (of the funnel version the batch is evaluated under). */
export interface EvidenceCandidate {
  developerId: string;
  stage: Stage;
  occurredAt: string;
  eventId: string;
}

/** Keeps the earliest candidate per developer and stage (evidence-order.ts). */
export class EvidenceCandidates {
  private readonly best = new Map<string, EvidenceCandidate>();

  add(candidate: EvidenceCandidate): void {
    const key = evidenceKey(candidate.developerId, candidate.stage);
    const current = this.best.get(key);
    if (!current || isEarlier(candidate, current)) this.best.set(key, candidate);
  }

  values(): EvidenceCandidate[] {
    return [...this.best.values()];
  }
}

/**
 * Lowers the stored earliest evidence of a funnel version where a candidate is earlier and returns
 * the candidates that did: only those are news for the workflow.
 */
export async function lowerStageEvidence(sql: Sql, funnelVersion: number, candidates: EvidenceCandidate[]): Promise<EvidenceCandidate[]> {
  if (candidates.length === 0) return [];
  const sorted = [...candidates].sort((a, b) => (a.developerId + a.stage < b.developerId + b.stage ? -1 : 1));
  const rows = await sql<{ developer_id: string; stage: string }>(
    `INSERT INTO stage_evidence AS t (developer_id, funnel_version, stage, occurred_at, event_id)
     SELECT d, $5::int, s, o, e FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[]) AS u(d, s, o, e)
     ON CONFLICT (developer_id, funnel_version, stage) DO UPDATE SET occurred_at = excluded.occurred_at, event_id = excluded.event_id
       WHERE ${isEarlierSql(['excluded.occurred_at', 'excluded.event_id'], ['t.occurred_at', 't.event_id'])}
     RETURNING developer_id, stage`,
    sorted.map((c) => c.developerId),
    sorted.map((c) => c.stage),
    sorted.map((c) => c.occurredAt),
    sorted.map((c) => c.eventId),
    funnelVersion,
  );
  const lowered = new Set(rows.map((r) => evidenceKey(r.developer_id, r.stage)));
  return sorted.filter((c) => lowered.has(evidenceKey(c.developerId, c.stage)));
}

/** The stored earliest evidence of some developers under a funnel version. */
export async function storedEvidence(
  sql: Sql,
  funnelVersion: number,
  developerIds: string[],
): Promise<{ developerId: string; stage: string; evidence: { occurredAt: string; eventId: string } }[]> {
  if (developerIds.length === 0) return [];
  const rows = await sql<{ developer_id: string; stage: string; occurred_at: Date; event_id: string }>(
    `SELECT developer_id, stage, occurred_at, event_id FROM stage_evidence WHERE developer_id = ANY($1::text[]) AND funnel_version = $2`,
    developerIds,
    funnelVersion,
  );
  return rows.map((r) => ({ developerId: r.developer_id, stage: r.stage, evidence: { occurredAt: r.occurred_at.toISOString(), eventId: r.event_id } }));
}

const evidenceKey = (developerId: string, stage: string) => `${developerId}\u0000${stage}`;
