import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { HandoffActivities } from '../src/activities/handoff-activities.ts';
import type { JourneyActivities } from '../src/activities/journey-activities.ts';
import type { NudgeActivities } from '../src/activities/nudge-activities.ts';
import { currentStage, stageViews } from '../src/journey/evidence.ts';
import { NO_FUNNEL_YET } from '../src/journey/stages.ts';
import { actionProblem, caseView } from '../src/journey/handoff.ts';
import type { ActivePolicy } from '../src/rules/escalation-policy-schema.ts';
import type { ActiveRules } from '../src/rules/rules-schema.ts';
import type { ExperimentAllocations } from '../src/journey/experiment-assignment.ts';
import type { RiskCrossings } from '../src/journey/risk-crossings.ts';
import { effectsOfType, isJourneyEffect, type JourneyEffect, type MachineEffect } from '../src/journey/journey-effects.ts';
import { isDeliveryFailure, type JourneyEvent } from '../src/journey/journey-event.ts';
import { nextWakeAt, stagesOf, type MachineEvent } from '../src/journey/journey-machine.ts';
import { applyJourneyEvent, persistJourney, restoreJourney, startJourney, type PersistedJourney } from '../src/journey/journey-runtime.ts';
import { MACHINE_VERSION, patchOf } from '../src/journey/journey-versions.ts';
import { handoffActionUpdate, handoffView, journeyEventsSignal, journeyStateQuery, nudgingView } from './journey-messages.ts';
import { journeyMemo, journeySearchAttributeValues, memoUpdate, publishedSearchAttributes, searchAttributeUpdates } from './journey-search-attributes.ts';
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
// through the server costs more than the rest of the journey (bench/RESULTS.md).
const { recordJourneyEffects } = proxyLocalActivities<JourneyActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '1 minute', backoffCoefficient: 2 },
});

const { currentNudgeRules, recordNudgeDecisions } = proxyLocalActivities<NudgeActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '1 minute', backoffCoefficient: 2 },
});

const { currentJourneyPolicies, recordHandoffSteps } = proxyLocalActivities<HandoffActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '1 minute', backoffCoefficient: 2 },
});

// Slack may be down or rate-limiting for a while: retried for up to a day, beside the loop, one
// call at a time per journey so that a case's post precedes its updates.
// The activity heartbeats while it works: a worker that dies mid-call is noticed in 20 s.
const { notifySlack } = proxyActivities<HandoffActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '20 seconds',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '2 seconds', maximumInterval: '10 minutes', backoffCoefficient: 2 },
});

// A regular activity: SMTP may be slow or down for a while; it retries for up to a day, without
// holding up the journey (sends run beside the event loop below).
// It heartbeats while it works, like notifySlack.
const { sendNudge } = proxyActivities<NudgeActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '20 seconds',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '5 seconds', maximumInterval: '10 minutes', backoffCoefficient: 2, nonRetryableErrorTypes: ['NudgeNotSendable'] },
});

/** How long (workflow time) a journey reuses the rules it read. */
const RULES_REUSE_MS = 30_000;

/** What a failed activity last said (an ActivityFailure wraps the activity's own error as its cause). */
function failureMessage(error: unknown): string {
  return error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
}

/** One developer's durable journey: id `onboarding/<developerId>`, fed by signalWithStart. */
export async function onboardingJourney(input: OnboardingJourneyInput): Promise<void> {
  const maxEventsPerRun = input.maxEventsPerRun ?? 5_000;
  const seen = new SeenIds(input.seenEventIds);
  const inbox: JourneyEvent[] = [];
  let eventsApplied = input.eventsApplied ?? 0;
  let appliedThisRun = 0;

  // Each version's code runs where its patch is in the history (or the history is new): journeys
  // whose history predates a version replay without it. The calls stay in this order.
  const nudging = patched(patchOf(2));
  const handoff = patched(patchOf(3));
  // A new journey follows the funnel versions it hears of; one whose history predates them
  // derives the shipped stages from the events until its first `stage.proved`.
  const funnelDocument = patched(patchOf(4));
  // A run whose history predates version 5 heard hard bounces and complaints as nothing: it still does.
  const emailDelivery = patched(patchOf(5));
  // A run whose history predates version 6 never upserted its search attributes or memo: it still does not.
  const searchable = patched(patchOf(6));
  let journey = input.journey
    ? restoreJourney(input.journey)
    : startJourney({ developerId: input.developerId, machineVersion: input.machineVersion ?? MACHINE_VERSION, ...(funnelDocument ? { funnel: NO_FUNNEL_YET } : {}) });

  setHandler(journeyEventsSignal, (events) => {
    inbox.push(...events);
  });
  setHandler(journeyStateQuery, () => ({
    developerId: input.developerId,
    machineVersion: journey.context.machineVersion,
    stage: currentStage(journey.context.evidence, stagesOf(journey.context)),
    stages: stageViews(journey.context.evidence, stagesOf(journey.context)),
    ...(journey.context.funnel ? { funnelVersion: journey.context.funnel.version } : {}),
    eventsApplied,
    ...(journey.context.nudging ? { nudging: nudgingView(journey.context.nudging) } : {}),
    ...(journey.context.handoff ? { handoff: handoffView(input.developerId, journey.context.handoff) } : {}),
  }));

  const shouldContinueAsNew = () => workflowInfo().continueAsNewSuggested || appliedThisRun >= maxEventsPerRun;

  const sending = new Set<Promise<void>>();
  let slackChain: Promise<void> = Promise.resolve();
  let decideSoon = false;

  // The rules (and escalation policy) in force: the worker's cache answers a local activity, whose
  // answer this journey reuses for RULES_REUSE_MS of workflow time. Not a second cache: the reuse
  // of one recorded read, because a developer's milestones come in bursts and a read per event
  // was a marker per workflow task. A change reaches a journey at its first decision after.
  // (Reading at every decision would change the commands of running journeys: a new version.)
  let loaded: { rules: ActiveRules | null; policy?: ActivePolicy | null; risk?: RiskCrossings; allocations?: ExperimentAllocations; at: number } | undefined;
  const rulesInForce = async () => {
    if (loaded && Date.now() - loaded.at < RULES_REUSE_MS) return loaded;
    const fresh = handoff ? { ...(await currentJourneyPolicies()), at: Date.now() } : { rules: await currentNudgeRules(), at: Date.now() };
    loaded = fresh;
    return fresh;
  };

  /** Feeds the machine an event of this host (not a signal) and returns the effects it asks for. */
  const apply = (event: MachineEvent): MachineEffect[] => {
    const result = applyJourneyEvent(journey, event);
    journey = result.snapshot;
    return result.effects;
  };

  /** Records handoff steps now (the log is the case's truth for people); Slack follows, in order. */
  const carryOutHandoff = async (effects: MachineEffect[]) => {
    const steps = effectsOfType(effects, 'recordHandoffStep');
    if (steps.length > 0) await recordHandoffSteps(steps);
    for (const notify of effectsOfType(effects, 'notifySlack')) {
      slackChain = slackChain.then(() =>
        notifySlack(notify).catch(async (error: unknown) => {
          // Given up after a day of failures: the log says so; the case stays actionable by API.
          const step = steps.find((s) => s.stepKey === notify.step?.stepKey);
          if (step)
            await recordHandoffSteps(effectsOfType(apply({ type: 'handoff.slack_failed', step, notify, error: failureMessage(error), at: Date.now() }), 'recordHandoffStep'));
        }),
      );
    }
  };

  setHandler(
    handoffActionUpdate,
    async (action) => {
      const effects = apply({ type: 'handoff.action', ...action, at: Date.now() });
      decideSoon = true; // deadlines moved: the next decision re-arms the timer
      await carryOutHandoff(effects);
      const [step] = effectsOfType(effects, 'recordHandoffStep');
      return { changed: step !== undefined, case: step?.case ?? caseView(input.developerId, journey.context.handoff!.active!) };
    },
    {
      validator: (action) => {
        const problem = actionProblem(journey.context.handoff, action);
        // Validators do not run on replay: what they refuse may change without a patch.
        if (problem)
          throw ApplicationFailure.create({
            type: 'HandoffActionRejected',
            message: problem.message,
            details: problem.owner ? [problem.code, problem.owner] : [problem.code],
            nonRetryable: true,
          });
      },
    },
  );

  /** Decides on nudges and handoff with the rules and policy in force now; sends run beside the loop. */
  // Risk crossings came without a journey version: every history recorded before holds reads
  // without them (and rules and policies without risk criteria), decided as before. Adaptive
  // allocations likewise: a read recorded before them holds none, and its experiments drew (and
  // draw again on replay) with the document's weights.
  const decideNudges = async ({
    rules,
    policy,
    risk,
    allocations,
  }: {
    rules: ActiveRules | null;
    policy?: ActivePolicy | null;
    risk?: RiskCrossings;
    allocations?: ExperimentAllocations;
  }) => {
    decideSoon = false;
    if (!rules) return;
    const effects = apply({ type: 'nudge.decide', now: Date.now(), rules, ...(policy ? { policy } : {}), ...(risk ? { risk } : {}), ...(allocations ? { allocations } : {}) });
    const decisions = effectsOfType(effects, 'recordNudgeDecision');
    if (decisions.length > 0) await recordNudgeDecisions(decisions);
    if (handoff) await carryOutHandoff(effects);
    for (const send of effectsOfType(effects, 'sendNudge')) {
      const running: Promise<void> = sendNudge(send)
        .catch(async (error: unknown) => {
          // Given up (not sendable, or a day of failures): the decision says so; the journey goes on.
          await recordNudgeDecisions(effectsOfType(apply({ type: 'nudge.send_failed', send, error: failureMessage(error) }), 'recordNudgeDecision'));
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

  // What the Temporal UI shows of the journey: upserted only when a value changed (each upsert is
  // a command in the history), starting from what this run started with.
  let publishedAttributes = publishedSearchAttributes(workflowInfo().typedSearchAttributes);
  let publishedMemo: Record<string, unknown> = workflowInfo().memo ?? {};
  const publish = () => {
    const attributes = journeySearchAttributeValues(journey.context);
    const updates = searchAttributeUpdates(publishedAttributes, attributes);
    if (updates.length > 0) upsertSearchAttributes(updates);
    publishedAttributes = attributes;
    const memo = journeyMemo(journey.context);
    const changed = memoUpdate(publishedMemo, memo);
    if (Object.keys(changed).length > 0) upsertMemo(changed);
    publishedMemo = { ...memo };
  };

  for (;;) {
    if (searchable) publish();
    const wakeAt = handoff ? nextWakeAt(journey.context) : nudging ? journey.context.nudging?.wakeAt : undefined;
    if (wakeAt !== undefined && (!timer || timer.fired || wakeAt < timer.at)) armTimer(wakeAt);
    await condition(() => inbox.length > 0 || shouldContinueAsNew() || timer?.fired === true || decideSoon);
    const woken = inbox.length === 0 && (timer?.fired === true || decideSoon);
    if (woken && timer?.fired) timer = undefined;
    if (inbox.length > 0) {
      const effects: JourneyEffect[] = [];
      let applied = 0;
      for (const event of inbox.splice(0)) {
        if (!seen.add(event.id)) continue;
        if (emailDelivery || !isDeliveryFailure(event)) effects.push(...apply(event).filter(isJourneyEffect));
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
    await Promise.all([...sending, slackChain]);
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
