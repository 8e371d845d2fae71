import type { Stage } from './stages.ts';

/** The earliest event proving a stage. `occurredAt` is an ISO-8601 UTC instant. */
export interface Evidence {
  occurredAt: string;
  eventId: string;
  /** The evidence arrived after a later stage had already been reached (a filled-in skip). */
  late?: boolean;
}

export type EvidenceByStage = Partial<Record<Stage, Evidence>>;

export type StageStatus = 'reached' | 'skipped' | 'pending';

export interface StageView {
  stage: Stage;
  status: StageStatus;
  at?: string;
  causeEventId?: string;
  late?: boolean;
}

/** The furthest of `stages` (funnel order) with evidence: the current stage, which therefore never moves backwards. */
export function currentStage(evidence: EvidenceByStage, stages: readonly Stage[]): Stage | null {
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i]!;
    if (evidence[stage]) return stage;
  }
  return null;
}

/** Every stage with its status: reached by its own evidence, skipped when a later one is reached. */
export function stageViews(evidence: EvidenceByStage, stages: readonly Stage[]): StageView[] {
  const current = currentStage(evidence, stages);
  const currentRank = current === null ? -1 : stages.indexOf(current);
  return stages.map((stage, rank) => {
    const proof = evidence[stage];
    if (proof) {
      return {
        stage,
        status: 'reached',
        at: proof.occurredAt,
        causeEventId: proof.eventId,
        ...(proof.late ? { late: true } : {}),
      };
    }
    return { stage, status: rank < currentRank ? 'skipped' : 'pending' };
  });
}
