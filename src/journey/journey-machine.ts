import { assign, enqueueActions, setup } from 'xstate';
import { currentStage, type EvidenceByStage } from './evidence.ts';
import { isEarlier } from './evidence-order.ts';
import type { ActivePolicy } from '../rules/escalation-policy-schema.ts';
import type { ActiveRules } from '../rules/rules-schema.ts';
import {
  applyHandoffAction,
  decideHandoff,
  initialHandoffState,
  nextHandoffWake,
  noteTicket,
  slackFailureStep,
  type HandoffAction,
  type HandoffState,
  type SlackFailedEvent,
} from './handoff.ts';
import {
  EFFECT_TYPES,
  type EffectOfType,
  type EffectType,
  type JourneyEffect,
  type JourneySnapshotSummary,
  type MachineEffect,
  type StageReachedEffect,
} from './journey-effects.ts';
import { stagesProvenBy, type DomainJourneyEvent, type JourneyEvent } from './journey-event.ts';
import { decideNudges, initialNudgeState, sendFailedDecision, type NudgeState, type SendFailedEvent } from './nudging.ts';
import { STAGES, stageRank, type Stage } from './stages.ts';
import { MACHINE_VERSION } from './journey-versions.ts';

export interface JourneyInput {
  developerId: string;
  machineVersion?: number;
}

export interface JourneyContext {
  developerId: string;
  /** The version the journey started with (recorded with each transition); the patches gate behaviour. */
  machineVersion: number;
  evidence: EvidenceByStage;
  /** Absent in journeys started before machine version 2 until their first nudge-relevant event. */
  nudging?: NudgeState;
  /** Absent until the first handoff-relevant event or decision (machine version 3 on). */
  handoff?: HandoffState & { wakeAt?: number };
  /**
   * Imported (backfilled) events arrived since the last decision: it treats what was already due
   * as the past (nudges `skipped`/`backfill`, escalations marked without a case), then clears it.
   * Absent in every journey that never imported anything.
   */
  backfillPending?: true;
}

/**
 * Not a signal: the workflow asks the machine to decide on nudges, passing its clock and the
 * rules version in force (read by an activity), so the machine stays pure.
 */
export interface DecideNudgesEvent {
  type: 'nudge.decide';
  now: number;
  rules: ActiveRules;
  /** The escalation policy in force; absent in journeys that predate the handoff. */
  policy?: ActivePolicy;
}

/** Events of the host, not signals: its clock, the rules in force, an effect it gave up on. */
export type HostEvent = DecideNudgesEvent | HandoffAction | SendFailedEvent | SlackFailedEvent;

export type MachineEvent = JourneyEvent | HostEvent;

const HOST_EVENTS = new Set<string>(['nudge.decide', 'handoff.action', 'nudge.send_failed', 'handoff.slack_failed'] satisfies HostEvent['type'][]);

type FunnelState = 'none' | Stage;

/** One no-op action per effect (journey-effects.ts): the host executes them. */
type EffectActions = { [T in EffectType]: (_: unknown, params: EffectOfType<T>) => void };
const effectActions = Object.fromEntries(EFFECT_TYPES.map((type) => [type, () => {}])) as unknown as EffectActions;

const journeySetup = setup({
  types: {
    context: {} as JourneyContext,
    events: {} as MachineEvent,
    input: {} as JourneyInput,
  },
  actions: {
    ...effectActions,
    noteForNudging: assign(({ context, event }) => ({ nudging: noteEvent(context.nudging ?? initialNudgeState(), event as JourneyEvent) })),
    noteTicket: assign(({ context, event }) => {
      const ticket = event as DomainJourneyEvent;
      return {
        handoff: { ...noteTicket(context.handoff ?? initialHandoffState(), ticket.id, ticket.occurredAt, ticket.properties, ticket.imported), wakeAt: context.handoff?.wakeAt },
      };
    }),
    noteBackfill: enqueueActions(({ context, event, enqueue }) => {
      if ('imported' in event && event.imported === true && !context.backfillPending) enqueue.assign({ backfillPending: true });
    }),
    decideNudges: enqueueActions(({ context, event, enqueue }) => {
      const { now, rules, policy } = event as DecideNudgesEvent;
      const { developerId, evidence } = context;
      const nudgingBefore = context.nudging ?? initialNudgeState();
      const backfill = context.backfillPending === true;
      if (backfill) enqueue.assign({ backfillPending: undefined });
      if (!policy) {
        const { state, effects } = decideNudges({ developerId, evidence, state: nudgingBefore, rules, now, ...(backfill ? { backfill } : {}) });
        enqueue.assign({ nudging: state });
        enqueueEffects(enqueue, effects);
        return;
      }
      // Deadlines and new escalations first, so that a case opened now already holds the nudges;
      // then the nudges, whose escalate actions may open a case in turn.
      const accountType = nudgingBefore.profile.accountType;
      const snapshot = snapshotOf(context);
      const handoffInput = { developerId, evidence, policy, accountType, snapshot, now, ...(backfill ? { backfill } : {}) };
      const before = decideHandoff({ ...handoffInput, state: context.handoff ?? initialHandoffState(), fromNudges: [] });
      const nudges = decideNudges({
        developerId,
        evidence,
        state: nudgingBefore,
        rules,
        now,
        handoff: { owned: before.state.active !== undefined, resumedAt: before.state.resumedAt, stopped: before.state.nudgesStopped === true },
        ...(backfill ? { backfill } : {}),
      });
      const after = nudges.escalations.length > 0 ? decideHandoff({ ...handoffInput, state: before.state, fromNudges: nudges.escalations }) : { state: before.state, effects: [] };
      const handoff = { ...after.state, wakeAt: nextHandoffWake(after.state, policy, evidence, accountType) };
      enqueue.assign({ nudging: nudges.state, handoff });
      enqueueEffects(enqueue, [...before.effects, ...nudges.effects, ...after.effects]);
    }),
    actOnHandoff: enqueueActions(({ context, event, enqueue }) => {
      if (!context.handoff) return;
      const { state, effects } = applyHandoffAction(context.developerId, context.handoff, event as HandoffAction, snapshotOf(context));
      if (effects.length === 0) return;
      // Deadlines changed (claimed, snoozed, closed): the next decision recomputes the wake-up.
      enqueue.assign({ handoff: { ...state, wakeAt: context.handoff.wakeAt } });
      enqueueEffects(enqueue, effects);
    }),
    recordSendFailure: enqueueActions(({ event, enqueue }) => {
      enqueueEffects(enqueue, [sendFailedDecision(event as SendFailedEvent)]);
    }),
    recordSlackFailure: enqueueActions(({ event, enqueue }) => {
      enqueueEffects(enqueue, [slackFailureStep(event as SlackFailedEvent)]);
    }),
    applyEvidence: enqueueActions(({ context, event: received, enqueue }) => {
      if (HOST_EVENTS.has(received.type)) return;
      const event = received as JourneyEvent;
      const before = currentStage(context.evidence);
      const evidence: EvidenceByStage = { ...context.evidence };
      const effects: JourneyEffect[] = [];
      for (const { stage, causeEventId } of stagesProvenBy(event)) {
        const candidate = { occurredAt: event.occurredAt, eventId: causeEventId };
        if (!isEarlier(candidate, evidence[stage])) continue;
        const furthest = currentStage(evidence);
        const late = evidence[stage]?.late ?? (furthest !== null && stageRank(furthest) > stageRank(stage));
        evidence[stage] = { ...candidate, ...(late ? { late } : {}) };
        effects.push({ type: 'recordStage', developerId: context.developerId, stage, occurredAt: event.occurredAt, causeEventId, late });
      }
      if (effects.length === 0) return;
      enqueue.assign({ evidence });
      for (const effect of effects) enqueue({ type: 'recordStage', params: effect as StageReachedEffect });
      const after = currentStage(evidence);
      if (after !== null && after !== before) {
        const proof = evidence[after]!;
        enqueue({
          type: 'recordTransition',
          params: {
            type: 'recordTransition',
            developerId: context.developerId,
            from: before,
            to: after,
            occurredAt: proof.occurredAt,
            causeEventId: proof.eventId,
            machineVersion: context.machineVersion,
          },
        });
      }
    }),
  },
  guards: {
    isCurrentStage: ({ context }, params: { stage: Stage }) => currentStage(context.evidence) === params.stage,
  },
});

/** From each funnel state, an eventless move to whichever later stage is now the current one. */
function funnelState(from: FunnelState) {
  const rank = from === 'none' ? -1 : stageRank(from);
  return {
    always: STAGES.filter((stage) => stageRank(stage) > rank).map((stage) => ({
      guard: { type: 'isCurrentStage' as const, params: { stage } },
      target: stage,
    })),
  };
}

/**
 * The journey of one developer: pure and deterministic (no I/O, no clock). It keeps, per stage,
 * the earliest evidence by event time; the funnel state is derived from that, so any arrival
 * order of the same events yields the same stages. Side effects leave as named actions
 * (journey-effects.ts) that the host executes.
 *
 * A change in the effects the machine emits for the same events is a new version
 * (journey-versions.ts): the workflow gates it with that version's patch.
 */
export const journeyMachine = journeySetup.createMachine({
  id: 'journey',
  context: ({ input }) => ({
    developerId: input.developerId,
    machineVersion: input.machineVersion ?? MACHINE_VERSION,
    evidence: {},
  }),
  type: 'parallel',
  states: {
    funnel: {
      initial: 'none',
      on: { '*': { actions: ['noteBackfill', 'applyEvidence'] } },
      states: Object.fromEntries((['none', ...STAGES] as FunnelState[]).map((state) => [state, funnelState(state)])) as Record<FunnelState, ReturnType<typeof funnelState>>,
    },
    nudging: {
      on: {
        'nudge.decide': { actions: 'decideNudges' },
        'nudge.send_failed': { actions: 'recordSendFailure' },
        'developer.signed_up': { actions: 'noteForNudging' },
        'consent.updated': { actions: 'noteForNudging' },
        'email.opened': { actions: 'noteForNudging' },
        'email.clicked': { actions: 'noteForNudging' },
        'api.error_burst': { actions: 'noteForNudging' },
      },
    },
    handoff: {
      on: {
        'support.ticket_created': { actions: 'noteTicket' },
        'handoff.action': { actions: 'actOnHandoff' },
        'handoff.slack_failed': { actions: 'recordSlackFailure' },
      },
    },
  },
});

/** Effects leave the machine as named actions the host executes (journey-runtime.ts). */
function enqueueEffects(enqueue: (action: never) => void, effects: MachineEffect[]) {
  for (const effect of effects) enqueue({ type: effect.type, params: effect } as never);
}

/** The journey as a handoff step records it. */
function snapshotOf(context: JourneyContext): JourneySnapshotSummary {
  const stage = currentStage(context.evidence);
  const n = context.nudging;
  return {
    stage,
    stageReachedAt: stage ? context.evidence[stage]!.occurredAt : null,
    consent: n?.consent.email ?? null,
    engagement: n ? { opened: n.opened, clicked: n.clicked, sends: n.sends } : null,
    holdout: n?.holdout ?? null,
  };
}

/** When the journey next needs a decision (nudges, SLAs, stall escalations). */
export function nextWakeAt(context: JourneyContext): number | undefined {
  const times = [context.nudging?.wakeAt, context.handoff?.wakeAt].filter((t): t is number => t !== undefined);
  return times.length > 0 ? Math.min(...times) : undefined;
}

/** What the nudging needs to know of an event: the profile, consent, engagement, bursts. */
function noteEvent(state: NudgeState, event: JourneyEvent): NudgeState {
  switch (event.type) {
    case 'developer.signed_up': {
      if (state.profile.signedUpAt && Date.parse(state.profile.signedUpAt) <= Date.parse(event.occurredAt)) return state;
      const p = event.properties ?? {};
      const pick = (key: string) => (typeof p[key] === 'string' ? { [key === 'acquisitionChannel' ? 'channel' : key]: p[key] as string } : {});
      return { ...state, profile: { ...pick('accountType'), ...pick('acquisitionChannel'), ...pick('timezone'), signedUpAt: event.occurredAt } };
    }
    case 'consent.updated': {
      // The latest statement by event time wins.
      if (state.consent.at && Date.parse(state.consent.at) > Date.parse(event.occurredAt)) return state;
      const email = event.properties?.emailConsent === 'revoked' ? 'revoked' : 'granted';
      return { ...state, consent: { email, at: event.occurredAt } };
    }
    case 'email.opened':
      return { ...state, opened: state.opened + 1 };
    case 'email.clicked':
      return { ...state, clicked: state.clicked + 1 };
    case 'api.error_burst':
      return {
        ...state,
        bursts: [
          ...state.bursts,
          {
            kind: event.kind,
            status: event.status,
            count: event.count,
            ...(event.endpoint ? { endpoint: event.endpoint } : {}),
            ...(event.continued ? { continued: true } : {}),
            ...(event.imported ? { imported: true as const } : {}),
          },
        ],
      };
    default:
      return state;
  }
}
