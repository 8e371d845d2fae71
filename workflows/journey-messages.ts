import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { StageView } from '../src/journey/evidence.ts';
import type { JourneyEvent } from '../src/journey/journey-event.ts';
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
  eventsApplied: number;
}

export const journeyStateQuery = defineQuery<JourneyState>('journey.state');
