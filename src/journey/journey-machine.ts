import { assign, enqueueActions, setup } from 'xstate';
import { currentStage, isEarlier, type EvidenceByStage } from './evidence.ts';
import type { ActiveRules } from '../rules/rules-schema.ts';
import type { JourneyEffect, NudgeDecisionEffect, SendNudgeEffect, StageAdvancedEffect, StageReachedEffect } from './journey-effects.ts';
import { stagesProvenBy, type JourneyEvent } from './journey-event.ts';
import { decideNudges, initialNudgeState, type NudgeState } from './nudging.ts';
import { STAGES, stageRank, type Stage } from './stages.ts';

/**
 * The journey of one developer: pure and deterministic (no I/O, no clock). It keeps, per stage,
 * the earliest evidence by event time; the funnel state is derived from that, so any arrival
 * order of the same events yields the same stages. Side effects leave as named actions
 * (`recordStage`, `recordTransition`) that the host executes.
 *
 * Bump MACHINE_VERSION for any change in the effects the machine emits; running journeys keep the
 * version they started with (context.machineVersion) and behaviour branches on it.
 */
export const MACHINE_VERSION = 2; // 2: nudging (decision and send effects)

export interface JourneyInput {
  developerId: string;
  machineVersion?: number;
}

export interface JourneyContext {
  developerId: string;
  machineVersion: number;
  evidence: EvidenceByStage;
  /** Absent in journeys started before machine version 2 until their first nudge-relevant event. */
  nudging?: NudgeState;
}

/**
 * Not a signal: the workflow asks the machine to decide on nudges, passing its clock and the
 * rules version in force (read by an activity), so the machine stays pure.
 */
export interface DecideNudgesEvent {
  type: 'nudge.decide';
  now: number;
  rules: ActiveRules;
}

export type MachineEvent = JourneyEvent | DecideNudgesEvent;

type FunnelState = 'none' | Stage;

const noop = () => {};

const journeySetup = setup({
  types: {
    context: {} as JourneyContext,
    events: {} as MachineEvent,
    input: {} as JourneyInput,
  },
  actions: {
    recordStage: (_: unknown, _params: StageReachedEffect) => noop(),
    recordTransition: (_: unknown, _params: StageAdvancedEffect) => noop(),
    recordNudgeDecision: (_: unknown, _params: NudgeDecisionEffect) => noop(),
    sendNudge: (_: unknown, _params: SendNudgeEffect) => noop(),
    noteForNudging: assign(({ context, event }) => ({ nudging: noteEvent(context.nudging ?? initialNudgeState(), event as JourneyEvent) })),
    decideNudges: enqueueActions(({ context, event, enqueue }) => {
      const { now, rules } = event as DecideNudgesEvent;
      const { state, effects } = decideNudges({ developerId: context.developerId, evidence: context.evidence, state: context.nudging ?? initialNudgeState(), rules, now });
      enqueue.assign({ nudging: state });
      for (const effect of effects) {
        if (effect.type === 'sendNudge') enqueue({ type: 'sendNudge', params: effect });
        else enqueue({ type: 'recordNudgeDecision', params: effect });
      }
    }),
    applyEvidence: enqueueActions(({ context, event: received, enqueue }) => {
      if (received.type === 'nudge.decide') return;
      const event = received;
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
      on: { '*': { actions: 'applyEvidence' } },
      states: Object.fromEntries(
        (['none', ...STAGES] as FunnelState[]).map((state) => [state, funnelState(state)]),
      ) as Record<FunnelState, ReturnType<typeof funnelState>>,
    },
    nudging: {
      on: {
        'nudge.decide': { actions: 'decideNudges' },
        'developer.signed_up': { actions: 'noteForNudging' },
        'consent.updated': { actions: 'noteForNudging' },
        'email.opened': { actions: 'noteForNudging' },
        'email.clicked': { actions: 'noteForNudging' },
        'api.error_burst': { actions: 'noteForNudging' },
      },
    },
  },
});

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
      return { ...state, bursts: [...state.bursts, { kind: event.kind, status: event.status, count: event.count, ...(event.endpoint ? { endpoint: event.endpoint } : {}) }] };
    default:
      return state;
  }
}
