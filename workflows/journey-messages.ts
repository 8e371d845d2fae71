import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CaseView } from '../src/cases/case-context.ts';
import { caseView, type HandoffAction, type HandoffState } from '../src/journey/handoff.ts';
import type { StageView } from '../src/journey/evidence.ts';
import type { JourneyEvent } from '../src/journey/journey-event.ts';
import type { NudgeState } from '../src/journey/nudging.ts';
import type { Stage } from '../src/journey/stages.ts';

/** Messages of the onboarding workflow, declared once for the workflow and its clients. */

export const TASK_QUEUE = 'onramp-journeys';

export function journeyWorkflowId(developerId: string): string {
  return `onboarding/${developerId}`;
}

/** A batch of journey events for one developer (the dispatcher groups the outbox by developer). */
export const journeyEventsSignal = defineSignal<[JourneyEvent[]]>('journey.events');

export interface JourneyState {
  developerId: string;
  machineVersion: number;
  stage: Stage | null;
  stages: StageView[];
  /** The funnel version the journey follows (absent: the shipped stages, from before funnel versions; 0: none heard yet). */
  funnelVersion?: number;
  eventsApplied: number;
  nudging?: NudgingView;
  handoff?: HandoffView;
}

/** The open case, if any, and how the last one ended. */
export interface HandoffView {
  active: CaseView | null;
  lastClosed: { id: string; status: 'returned' | 'resolved'; outcome: string | null; closedAt: string } | null;
  casesOpened: number;
  nudgesStopped: boolean;
  nextDecisionAt: string | null;
}

export function handoffView(developerId: string, state: HandoffState & { wakeAt?: number }): HandoffView {
  const closed = state.lastClosed;
  return {
    active: state.active ? caseView(developerId, state.active) : null,
    lastClosed: closed ? { id: closed.id, status: closed.status, outcome: closed.outcome, closedAt: new Date(closed.closedAt).toISOString() } : null,
    casesOpened: state.opened,
    nudgesStopped: state.nudgesStopped === true,
    nextDecisionAt: state.wakeAt === undefined ? null : new Date(state.wakeAt).toISOString(),
  };
}

/** An agent's action on a case; rejected (not found, closed, invalid) before it touches the journey. */
export type HandoffActionInput = Omit<HandoffAction, 'type' | 'at'>;

export interface HandoffActionResult {
  /** false: nothing to do (a double click: already claimed by this actor). */
  changed: boolean;
  case: CaseView;
}

export const handoffActionUpdate = defineUpdate<HandoffActionResult, [HandoffActionInput]>('handoff.action');

/** What the journey knows for its nudges, as the journey API shows it. */
export interface NudgingView {
  consent: 'granted' | 'revoked';
  holdout: boolean | null;
  opened: number;
  clicked: number;
  sends: number;
  /** Email does not reach them: the hard bounce or spam complaint heard (the engagement segment is `none`). */
  undeliverable: { reason: 'hard_bounce' | 'complaint'; at: string } | null;
  /** A nudge held back by quiet hours. */
  deferred: { nudgeKey: string; dueAt: string } | null;
  nextDecisionAt: string | null;
}

export function nudgingView(state: NudgeState): NudgingView {
  return {
    consent: state.consent.email,
    holdout: state.holdout ?? null,
    opened: state.opened,
    clicked: state.clicked,
    sends: state.sends,
    undeliverable: state.undeliverable ?? null,
    deferred: state.deferred ? { nudgeKey: state.deferred.nudgeKey, dueAt: new Date(state.deferred.dueAt).toISOString() } : null,
    nextDecisionAt: state.wakeAt === undefined ? null : new Date(state.wakeAt).toISOString(),
  };
}

export const journeyStateQuery = defineQuery<JourneyState>('journey.state');
