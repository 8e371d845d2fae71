import type { CaseView } from '../cases/case-context.ts';
import type { Stage } from './stages.ts';

/** Side effects the machine asks for; the workflow turns them into (idempotent) activity calls. */
export interface StageReachedEffect {
  type: 'recordStage';
  developerId: string;
  stage: Stage;
  funnelVersion: number;
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
  funnelVersion: number;
  occurredAt: string;
  causeEventId: string;
  machineVersion: number;
}

/** Where the journey stands after its evidence changed: the read model's current stage. */
export interface CurrentStageEffect {
  type: 'recordCurrentStage';
  developerId: string;
  funnelVersion: number;
  /** Null when no stage of a newly followed funnel version is reached. */
  stage: Stage | null;
  /** Its position in the funnel version (-1: none). */
  rank: number;
  /** The event time of its earliest evidence. */
  at: string | null;
}

export type JourneyEffect = StageReachedEffect | StageAdvancedEffect | CurrentStageEffect;

/** `escalated`: a rule's escalate action handed the developer to a person. */
export type NudgeOutcome = 'sent' | 'scheduled' | 'cancelled' | 'skipped' | 'escalated';

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
  /** A rule running an experiment: its id and the developer's variant (null: the holdout, its control). */
  experiment?: { id: string; variant: string | null };
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

export type HandoffStepKind =
  | 'escalated'
  | 'ticket'
  | 'claimed'
  | 'note'
  | 'snoozed'
  | 'snooze_ended'
  | 'sla_breached'
  | 're_escalated'
  | 'returned'
  | 'resolved'
  /** Slack could not be reached for a day: the case stays actionable through the API. */
  | 'slack_failed';

/** The journey as it stood at a handoff step (the log keeps it with the step). */
export interface JourneySnapshotSummary {
  stage: Stage | null;
  stageReachedAt: string | null;
  consent: string | null;
  engagement: { opened: number; clicked: number; sends: number } | null;
  holdout: boolean | null;
}

/** One step of a handoff case: a row in handoff_steps, and the case's read model after it. */
export interface HandoffStepEffect {
  type: 'recordHandoffStep';
  developerId: string;
  /** `<caseId>/<n>`: idempotent. */
  stepKey: string;
  step: HandoffStepKind;
  actor: string | null;
  at: string;
  detail: Record<string, unknown>;
  /** The case after the step; `revision` orders read-model updates. */
  case: CaseView;
  revision: number;
  snapshot: JourneySnapshotSummary;
}

/** Post the case to a level's Slack channel (once per case and level), or update its messages. */
export interface NotifySlackEffect {
  type: 'notifySlack';
  developerId: string;
  case: CaseView;
  revision: number;
  /** A new post at this level (escalated, re-escalated). */
  post?: { level: number; channel: string; mention: string[] };
  /** The step to add to the case's thread (and update the posted messages in place). */
  step?: { stepKey: string; step: HandoffStepKind; actor: string | null; at: string; detail: Record<string, unknown> };
}

export type HandoffEffect = HandoffStepEffect | NotifySlackEffect;

/** Everything the machine may ask its host for. */
export type MachineEffect = JourneyEffect | NudgeEffect | HandoffEffect;

export type EffectType = MachineEffect['type'];

export type EffectOfType<T extends EffectType> = Extract<MachineEffect, { type: T }>;

/**
 * The effects, declared once: each type and the part of the journey it belongs to. The runtime
 * picks effects out of the machine's actions by it, the machine declares its (no-op) effect
 * actions from it, and the workflow sorts effects by it. A type missing here does not compile.
 */
export const EFFECTS = {
  recordStage: 'journey',
  recordTransition: 'journey',
  recordCurrentStage: 'journey',
  recordNudgeDecision: 'nudge',
  sendNudge: 'nudge',
  recordHandoffStep: 'handoff',
  notifySlack: 'handoff',
} as const satisfies Record<EffectType, 'journey' | 'nudge' | 'handoff'>;

export const EFFECT_TYPES = Object.keys(EFFECTS) as EffectType[];

export function isEffectType(type: string): type is EffectType {
  return Object.hasOwn(EFFECTS, type);
}

/** The effects of one type, in the order the machine emitted them. */
export function effectsOfType<T extends EffectType>(effects: readonly MachineEffect[], type: T): EffectOfType<T>[] {
  return effects.filter((e): e is EffectOfType<T> => e.type === type);
}

/** The funnel's effects (stage and transition rows). */
export function isJourneyEffect(effect: MachineEffect): effect is JourneyEffect {
  return EFFECTS[effect.type] === 'journey';
}
