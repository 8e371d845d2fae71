import type { Stage } from './stages.ts';

/** Side effects the machine asks for; the workflow turns them into (idempotent) activity calls. */
export interface StageReachedEffect {
  type: 'recordStage';
  developerId: string;
  stage: Stage;
  occurredAt: string;
  causeEventId: string;
  /** Filled in after a later stage was already reached. */
  late: boolean;
}

export interface StageAdvancedEffect {
  type: 'recordTransition';
  developerId: string;
  from: Stage | null;
  to: Stage;
  occurredAt: string;
  causeEventId: string;
  machineVersion: number;
}

export type JourneyEffect = StageReachedEffect | StageAdvancedEffect;

export type NudgeOutcome = 'sent' | 'scheduled' | 'cancelled' | 'skipped';

/** One nudge decision, a row in nudge_decisions (idempotent by decisionKey). */
export interface NudgeDecisionEffect {
  type: 'recordNudgeDecision';
  developerId: string;
  decisionKey: string;
  nudgeKey: string;
  ruleId: string;
  ruleVersion: number;
  outcome: NudgeOutcome;
  reason?: string;
  template?: string;
  segment: { engagement: string; channel: string | null; accountType: string | null };
  inputs: Record<string, unknown>;
  decidedAt: string;
  scheduledFor?: string;
}

/** Send a nudge email; the activity records `decision` (outcome sent) once the message is out. */
export interface SendNudgeEffect {
  type: 'sendNudge';
  developerId: string;
  decision: NudgeDecisionEffect;
  template: string;
  stage: Stage | null;
  burst?: { kind: string; endpoint?: string; status?: number; count?: number };
}

export type NudgeEffect = NudgeDecisionEffect | SendNudgeEffect;

/** Everything the machine may ask its host for. */
export type MachineEffect = JourneyEffect | NudgeEffect;
