import { STAGES, stageRank, type Stage } from './stages.ts';

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

/** The furthest stage with evidence: the current stage, which therefore never moves backwards. */
export function currentStage(evidence: EvidenceByStage): Stage | null {
  for (let i = STAGES.length - 1; i >= 0; i--) {
    const stage = STAGES[i]!;
    if (evidence[stage]) return stage;
  }
  return null;
}

/** Every stage with its status: reached by its own evidence, skipped when a later one is reached. */
export function stageViews(evidence: EvidenceByStage): StageView[] {
  const current = currentStage(evidence);
  const currentRank = current === null ? -1 : stageRank(current);
  return STAGES.map((stage) => {
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
    return { stage, status: stageRank(stage) < currentRank ? 'skipped' : 'pending' };
  });
}
