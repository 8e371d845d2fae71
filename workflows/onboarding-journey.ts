import { allHandlersFinished, ApplicationFailure, condition, continueAsNew, patched, proxyActivities, proxyLocalActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { HandoffActivities } from '../src/activities/handoff-activities.ts';
import type { JourneyActivities } from '../src/activities/journey-activities.ts';
import type { NudgeActivities } from '../src/activities/nudge-activities.ts';
import { currentStage, stageViews } from '../src/journey/evidence.ts';
import { actionProblem, caseView } from '../src/journey/handoff.ts';
import type { ActivePolicy } from '../src/rules/escalation-policy-schema.ts';
import type { ActiveRules } from '../src/rules/rules-schema.ts';
import type { HandoffStepEffect, JourneyEffect, MachineEffect, NotifySlackEffect, NudgeDecisionEffect, SendNudgeEffect } from '../src/journey/journey-effects.ts';
import type { JourneyEvent } from '../src/journey/journey-event.ts';
import { MACHINE_VERSION, nextWakeAt } from '../src/journey/journey-machine.ts';
import { applyJourneyEvent, persistJourney, restoreJourney, startJourney, type PersistedJourney } from '../src/journey/journey-runtime.ts';
import { handoffActionUpdate, handoffView, journeyEventsSignal, journeyStateQuery, nudgingView } from './journey-messages.ts';
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
    ...(journey.context.handoff ? { handoff: handoffView(input.developerId, journey.context.handoff) } : {}),
  }));

  const shouldContinueAsNew = () => workflowInfo().continueAsNewSuggested || appliedThisRun >= maxEventsPerRun;

  // Nudging arrived with machine version 2: journeys whose history predates it replay without it.
  const nudging = patched('onramp-nudges');
  const sending = new Set<Promise<void>>();

  // Handoff to a person arrived with machine version 3 (escalation policy, agent actions).
  const handoff = patched('onramp-handoff');
  let slackChain: Promise<void> = Promise.resolve();
  let decideSoon = false;

  // The rules (and escalation policy) in force, read by a local activity and reused for
  // RULES_REUSE_MS of workflow time: a developer's milestones come in bursts, and one read per
  // event was a marker per workflow task. A change reaches a journey at its first decision after.
  let loaded: { rules: ActiveRules | null; policy?: ActivePolicy | null; at: number } | undefined;
  const rulesInForce = async () => {
    if (loaded && Date.now() - loaded.at < RULES_REUSE_MS) return loaded;
    const fresh = handoff ? { ...(await currentJourneyPolicies()), at: Date.now() } : { rules: await currentNudgeRules(), at: Date.now() };
    loaded = fresh;
    return fresh;
  };

  /** Records handoff steps now (the log is the case's truth for people); Slack follows, in order. */
  const carryOutHandoff = async (effects: MachineEffect[]) => {
    const steps = effects.filter((e): e is HandoffStepEffect => e.type === 'recordHandoffStep');
    if (steps.length > 0) await recordHandoffSteps(steps);
    for (const notify of effects.filter((e): e is NotifySlackEffect => e.type === 'notifySlack')) {
      slackChain = slackChain.then(() =>
        notifySlack(notify).catch(async (error: unknown) => {
          // Given up after a day of failures: the log says so; the case stays actionable by API.
          const message = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
          const step = steps.find((s) => s.stepKey === notify.step?.stepKey);
          if (step) await recordHandoffSteps([slackFailureStep(step, notify, message)]);
        }),
      );
    }
  };

  setHandler(
    handoffActionUpdate,
    async (action) => {
      const result = applyJourneyEvent(journey, { type: 'handoff.action', ...action, at: Date.now() });
      journey = result.snapshot;
      decideSoon = true; // deadlines moved: the next decision re-arms the timer
      await carryOutHandoff(result.effects);
      const step = result.effects.find((e): e is HandoffStepEffect => e.type === 'recordHandoffStep');
      return { changed: step !== undefined, case: step?.case ?? caseView(input.developerId, journey.context.handoff!.active!) };
    },
    {
      validator: (action) => {
        const problem = actionProblem(journey.context.handoff, action);
        if (problem) throw ApplicationFailure.create({ type: 'HandoffActionRejected', message: problem.message, details: [problem.code], nonRetryable: true });
      },
    },
  );

  /** Decides on nudges and handoff with the rules and policy in force now; sends run beside the loop. */
  const decideNudges = async ({ rules, policy }: { rules: ActiveRules | null; policy?: ActivePolicy | null }) => {
    decideSoon = false;
    if (!rules) return;
    const result = applyJourneyEvent(journey, { type: 'nudge.decide', now: Date.now(), rules, ...(policy ? { policy } : {}) });
    journey = result.snapshot;
    const decisions = result.effects.filter((e): e is NudgeDecisionEffect => e.type === 'recordNudgeDecision');
    if (decisions.length > 0) await recordNudgeDecisions(decisions);
    if (handoff) await carryOutHandoff(result.effects);
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

/** A Slack notification given up on, as a step of the case's log (the case itself unchanged). */
function slackFailureStep(step: HandoffStepEffect, notify: NotifySlackEffect, message: string): HandoffStepEffect {
  return {
    ...step,
    stepKey: `${step.stepKey}/slack_failed`,
    step: 'slack_failed',
    actor: null,
    at: new Date(Date.now()).toISOString(),
    detail: { error: message.slice(0, 500), ...(notify.post ? { level: notify.post.level, channel: notify.post.channel } : {}) },
  };
}
