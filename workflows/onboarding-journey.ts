import { allHandlersFinished, condition, continueAsNew, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { JourneyActivities } from '../src/activities/journey-activities.ts';
import { currentStage, stageViews } from '../src/journey/evidence.ts';
import type { JourneyEffect } from '../src/journey/journey-effects.ts';
import type { JourneyEvent } from '../src/journey/journey-event.ts';
import { MACHINE_VERSION } from '../src/journey/journey-machine.ts';
import { applyJourneyEvent, persistJourney, restoreJourney, startJourney, type PersistedJourney } from '../src/journey/journey-runtime.ts';
import { journeyEventsSignal, journeyStateQuery } from './journey-messages.ts';
import { SeenIds } from './seen-ids.ts';

export interface OnboardingJourneyInput {
  developerId: string;
  /** Chosen at first start; carried over continue-as-new inside the journey snapshot. */
  machineVersion?: number;
  journey?: PersistedJourney;
  seenEventIds?: string[];
  eventsApplied?: number;
  /** Continue-as-new after this many events in one run, even before Temporal suggests it. */
  maxEventsPerRun?: number;
}

// Local activities: a transition row is one short DB write, and a regular activity's round trip
// through the server costs more than the rest of the journey (ENVIRONMENT.md).
const { recordJourneyEffects } = proxyLocalActivities<JourneyActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '1 minute', backoffCoefficient: 2 },
});

/** One developer's durable journey: id `onboarding/<developerId>`, fed by signalWithStart. */
export async function onboardingJourney(input: OnboardingJourneyInput): Promise<void> {
  const maxEventsPerRun = input.maxEventsPerRun ?? 5_000;
  let journey = input.journey
    ? restoreJourney(input.journey)
    : startJourney({ developerId: input.developerId, machineVersion: input.machineVersion ?? MACHINE_VERSION });
  const seen = new SeenIds(input.seenEventIds);
  const inbox: JourneyEvent[] = [];
  let eventsApplied = input.eventsApplied ?? 0;
  let appliedThisRun = 0;

  setHandler(journeyEventsSignal, (events) => {
    inbox.push(...events);
  });
  setHandler(journeyStateQuery, () => ({
    developerId: input.developerId,
    machineVersion: journey.context.machineVersion,
    stage: currentStage(journey.context.evidence),
    stages: stageViews(journey.context.evidence),
    eventsApplied,
  }));

  const shouldContinueAsNew = () => workflowInfo().continueAsNewSuggested || appliedThisRun >= maxEventsPerRun;

  for (;;) {
    await condition(() => inbox.length > 0 || shouldContinueAsNew());
    if (inbox.length > 0) {
      const effects: JourneyEffect[] = [];
      for (const event of inbox.splice(0)) {
        if (!seen.add(event.id)) continue;
        const result = applyJourneyEvent(journey, event);
        journey = result.snapshot;
        effects.push(...result.effects);
        eventsApplied++;
        appliedThisRun++;
      }
      if (effects.length > 0) await recordJourneyEffects(effects);
      continue; // drain whatever arrived while the effects were recorded
    }
    await condition(allHandlersFinished);
    if (inbox.length > 0) continue;
    await continueAsNew<typeof onboardingJourney>({
      developerId: input.developerId,
      journey: persistJourney(journey),
      seenEventIds: seen.toJSON(),
      eventsApplied,
      maxEventsPerRun: input.maxEventsPerRun,
    });
  }
}
