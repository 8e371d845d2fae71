import { allHandlersFinished, ApplicationFailure, condition, continueAsNew, patched, proxyActivities, proxyLocalActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { JourneyActivities } from '../src/activities/journey-activities.ts';
import type { NudgeActivities } from '../src/activities/nudge-activities.ts';
import { currentStage, stageViews } from '../src/journey/evidence.ts';
import type { ActiveRules } from '../src/rules/rules-schema.ts';
import type { JourneyEffect, MachineEffect, NudgeDecisionEffect, SendNudgeEffect } from '../src/journey/journey-effects.ts';
import type { JourneyEvent } from '../src/journey/journey-event.ts';
import { MACHINE_VERSION } from '../src/journey/journey-machine.ts';
import { applyJourneyEvent, persistJourney, restoreJourney, startJourney, type PersistedJourney } from '../src/journey/journey-runtime.ts';
import { journeyEventsSignal, journeyStateQuery, nudgingView } from './journey-messages.ts';
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

const { currentNudgeRules, recordNudgeDecisions } = proxyLocalActivities<NudgeActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '1 minute', backoffCoefficient: 2 },
});

// A regular activity: SMTP may be slow or down for a while; it retries for up to a day, without
// holding up the journey (sends run beside the event loop below).
const { sendNudge } = proxyActivities<NudgeActivities>({
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '5 seconds', maximumInterval: '10 minutes', backoffCoefficient: 2, nonRetryableErrorTypes: ['NudgeNotSendable'] },
});

/** How long (workflow time) a journey reuses the rules it read. */
const RULES_REUSE_MS = 30_000;

const isJourneyEffect = (e: MachineEffect): e is JourneyEffect => e.type === 'recordStage' || e.type === 'recordTransition';

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
    ...(journey.context.nudging ? { nudging: nudgingView(journey.context.nudging) } : {}),
  }));

  const shouldContinueAsNew = () => workflowInfo().continueAsNewSuggested || appliedThisRun >= maxEventsPerRun;

  // Nudging arrived with machine version 2: journeys whose history predates it replay without it.
  const nudging = patched('onramp-nudges');
  const sending = new Set<Promise<void>>();

  // The rules version in force, read by a local activity and reused for RULES_REUSE_MS of workflow
  // time: a developer's milestones come in bursts, and one read per event was a marker per
  // workflow task. A rules change reaches a journey at its first decision after that window.
  let loaded: { rules: ActiveRules | null; at: number } | undefined;
  const rulesInForce = async () => {
    if (!loaded || Date.now() - loaded.at >= RULES_REUSE_MS) loaded = { rules: await currentNudgeRules(), at: Date.now() };
    return loaded.rules;
  };

  /** Decides on nudges with the rules in force now; sends run beside the loop. */
  const decideNudges = async (rules: ActiveRules | null) => {
    if (!rules) return;
    const result = applyJourneyEvent(journey, { type: 'nudge.decide', now: Date.now(), rules });
    journey = result.snapshot;
    const decisions = result.effects.filter((e): e is NudgeDecisionEffect => e.type === 'recordNudgeDecision');
    if (decisions.length > 0) await recordNudgeDecisions(decisions);
    for (const send of result.effects.filter((e): e is SendNudgeEffect => e.type === 'sendNudge')) {
      const running: Promise<void> = sendNudge(send)
        .catch(async (error: unknown) => {
          // Given up (not sendable, or a day of failures): the decision says so; the journey goes on.
          const reason = `send_failed: ${error instanceof ApplicationFailure || error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`;
          await recordNudgeDecisions([{ ...send.decision, decisionKey: `${send.decision.decisionKey}/failed`, outcome: 'skipped', reason: reason.slice(0, 500) }]);
        })
        .finally(() => sending.delete(running));
      sending.add(running);
    }
  };

  // One durable timer at a time, re-armed only for an earlier wake-up: a later one lets the
  // running timer fire first (a decision with nothing due) instead of cancelling and restarting
  // it at every milestone, which cost a fifth of the milestone throughput (bench).
  let timer: { at: number; fired: boolean } | undefined;
  const armTimer = (at: number) => {
    const armed = { at, fired: false };
    timer = armed;
    void sleep(Math.max(1, at - Date.now())).then(() => {
      armed.fired = true;
    });
  };

  for (;;) {
    const wakeAt = nudging ? journey.context.nudging?.wakeAt : undefined;
    if (wakeAt !== undefined && (!timer || timer.fired || wakeAt < timer.at)) armTimer(wakeAt);
    await condition(() => inbox.length > 0 || shouldContinueAsNew() || timer?.fired === true);
    const woken = inbox.length === 0 && timer?.fired === true;
    if (woken) timer = undefined;
    if (inbox.length > 0) {
      const effects: JourneyEffect[] = [];
      let applied = 0;
      for (const event of inbox.splice(0)) {
        if (!seen.add(event.id)) continue;
        const result = applyJourneyEvent(journey, event);
        journey = result.snapshot;
        effects.push(...result.effects.filter(isJourneyEffect));
        eventsApplied++;
        appliedThisRun++;
        applied++;
      }
      if (effects.length > 0) await recordJourneyEffects(effects);
      if (nudging && applied > 0) await decideNudges(await rulesInForce());
      continue; // drain whatever arrived while the effects were recorded
    }
    if (woken) {
      await decideNudges(await rulesInForce());
      continue;
    }
    await Promise.all([...sending]);
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
