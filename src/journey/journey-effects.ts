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
