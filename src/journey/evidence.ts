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

/**
 * Total order on evidence: earlier event time wins, ties go to the smaller event id, so the
 * chosen cause is the same whatever order the events arrived in.
 */
export function isEarlier(candidate: Pick<Evidence, 'occurredAt' | 'eventId'>, current?: Evidence): boolean {
  if (!current) return true;
  // Both in toISOString's form (as every validated and stored instant is): they order as text.
  if (isCanonicalInstant(candidate.occurredAt) && isCanonicalInstant(current.occurredAt)) {
    return candidate.occurredAt < current.occurredAt || (candidate.occurredAt === current.occurredAt && candidate.eventId < current.eventId);
  }
  const a = Date.parse(candidate.occurredAt);
  const b = Date.parse(current.occurredAt);
  return a < b || (a === b && candidate.eventId < current.eventId);
}

/** `YYYY-MM-DDTHH:mm:ss.sssZ`, years 0000–9999 (the shape, not the validity: both sides were parsed before). */
const isCanonicalInstant = (s: string) => s.length === 24 && s.charCodeAt(23) === 90 && s.charCodeAt(19) === 46 && s.charCodeAt(10) === 84;

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
