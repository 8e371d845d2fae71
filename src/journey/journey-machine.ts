import { assign, enqueueActions, setup } from 'xstate';
import { currentStage, type EvidenceByStage } from './evidence.ts';
import { isEarlier } from './evidence-order.ts';
import type { ActivePolicy } from '../rules/escalation-policy-schema.ts';
import type { ExperimentAllocations } from './experiment-assignment.ts';
import type { RiskCrossings } from './risk-crossings.ts';
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
import { EFFECT_TYPES, type EffectOfType, type EffectType, type JourneyEffect, type JourneySnapshotSummary, type MachineEffect } from './journey-effects.ts';
import { stagesProvenBy, type DomainJourneyEvent, type FunnelChangedEvent, type JourneyEvent, type StageProvedEvent } from './journey-event.ts';
import { decideNudges, initialNudgeState, sendFailedDecision, type NudgeState, type SendFailedEvent } from './nudging.ts';
import { SHIPPED_STAGES, stageRank, type JourneyFunnel, type Stage } from './stages.ts';
import { MACHINE_VERSION } from './journey-versions.ts';

export interface JourneyInput {
  developerId: string;
  machineVersion?: number;
  /** Absent only for journeys whose history predates the funnel document (they derive stages themselves). */
  funnel?: JourneyFunnel;
}

export interface JourneyContext {
  developerId: string;
  /** The version the journey started with (recorded with each transition); the patches gate behaviour. */
  machineVersion: number;
  /**
   * The funnel version whose stages the journey follows: set by the first `stage.proved` (from
   * NO_FUNNEL_YET, or absent in journeys from before the funnel was a document, which until then
   * derive the shipped stages from the events themselves).
   */
  funnel?: JourneyFunnel;
  evidence: EvidenceByStage;
  /**
   * Proofs of a funnel version newer than the one followed, heard before its `funnel.changed`
   * (ingest evaluates new events under a version as soon as it is in force; the recomputation
   * reaches each journey later): applied when that version is adopted.
   */
  pendingProofs?: StageProvedEvent[];
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
  /** When the risk criteria of the rules and policy cross, read with them; absent before risk criteria existed. */
  risk?: RiskCrossings;
  /** Adaptive experiments' weights, read with the rules; absent before adaptive experiments existed (the document's weights). */
  allocations?: ExperimentAllocations;
}

/** Events of the host, not signals: its clock, the rules in force, an effect it gave up on. */
export type HostEvent = DecideNudgesEvent | HandoffAction | SendFailedEvent | SlackFailedEvent;

export type MachineEvent = JourneyEvent | HostEvent;

const HOST_EVENTS = new Set<string>(['nudge.decide', 'handoff.action', 'nudge.send_failed', 'handoff.slack_failed'] satisfies HostEvent['type'][]);

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
      // A changed funnel re-dates stages to the past: what was due then is the past, as for an import.
      const past = ('imported' in event && event.imported === true) || (event.type === 'funnel.changed' && event.funnel.version > (context.funnel?.version ?? 0));
      if (past && !context.backfillPending) enqueue.assign({ backfillPending: true });
    }),
    decideNudges: enqueueActions(({ context, event, enqueue }) => {
      const { now, rules, policy, risk, allocations } = event as DecideNudgesEvent;
      const { developerId, evidence } = context;
      const stages = stagesOf(context);
      const nudgingBefore = context.nudging ?? initialNudgeState();
      const backfill = context.backfillPending === true;
      if (backfill) enqueue.assign({ backfillPending: undefined });
      // What the nudge decisions read, with or without a handoff.
      const nudgeInput = {
        developerId,
        evidence,
        stages,
        state: nudgingBefore,
        rules,
        now,
        ...(risk ? { risk } : {}),
        ...(allocations ? { allocations } : {}),
        ...(backfill ? { backfill } : {}),
      };
      if (!policy) {
        const { state, effects } = decideNudges(nudgeInput);
        enqueue.assign({ nudging: state });
        enqueueEffects(enqueue, effects);
        return;
      }
      // Deadlines and new escalations first, so that a case opened now already holds the nudges;
      // then the nudges, whose escalate actions may open a case in turn.
      const { accountType, channel } = nudgingBefore.profile;
      const snapshot = snapshotOf(context);
      const who = { accountType, channel, now, ...(risk ? { risk } : {}) };
      const handoffInput = { developerId, evidence, stages, policy, ...who, snapshot, ...(backfill ? { backfill } : {}) };
      const before = decideHandoff({ ...handoffInput, state: context.handoff ?? initialHandoffState(), fromNudges: [] });
      const nudges = decideNudges({
        ...nudgeInput,
        handoff: { owned: before.state.active !== undefined, resumedAt: before.state.resumedAt, stopped: before.state.nudgesStopped === true },
      });
      const after = nudges.escalations.length > 0 ? decideHandoff({ ...handoffInput, state: before.state, fromNudges: nudges.escalations }) : { state: before.state, effects: [] };
      const handoff = { ...after.state, wakeAt: nextHandoffWake(after.state, policy, evidence, stages, who) };
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
      if (event.type === 'funnel.changed') {
        const change = changeFunnel(context, event);
        if (change) {
          enqueue.assign(change.context);
          enqueueEffects(enqueue, change.effects);
        }
        return;
      }
      if (event.type === 'stage.proved' && context.funnel !== undefined && context.funnel.version > 0 && event.funnel.version > context.funnel.version) {
        enqueue.assign({ pendingProofs: [...(context.pendingProofs ?? []), event] });
        return;
      }
      let { funnel, evidence } = context;
      const effects: MachineEffect[] = [];
      if (event.type === 'stage.proved' && (funnel === undefined || funnel.version === 0)) {
        // The first funnel version this journey hears of: its stages from now on. Evidence of
        // stages it lacks is dropped; what remains is recorded under it (idempotent for the
        // stages a journey from before the document already recorded).
        funnel = event.funnel;
        evidence = Object.fromEntries(funnel.stages.flatMap((stage) => (evidence[stage] ? [[stage, evidence[stage]]] : [])));
        enqueue.assign({ funnel, evidence });
        if (Object.keys(evidence).length > 0) effects.push(...recordedUnder(context.developerId, funnel, evidence, context.machineVersion));
      }
      const proofs =
        event.type === 'stage.proved'
          ? event.funnel.version === funnel!.version
            ? [{ stage: event.stage, causeEventId: event.causeEventId }]
            : [] // evaluated under another funnel version than the one this journey follows
          : funnel === undefined
            ? stagesProvenBy(event)
            : [];
      const stages = funnel?.stages ?? SHIPPED_STAGES;
      const funnelVersion = funnel?.version ?? SHIPPED_FUNNEL_VERSION;
      const before = currentStage(evidence, stages);
      const next: EvidenceByStage = { ...evidence };
      let proved = false;
      for (const { stage, causeEventId } of proofs) {
        const rank = stageRank(stages, stage);
        const candidate = { occurredAt: event.occurredAt, eventId: causeEventId };
        if (rank < 0 || !isEarlier(candidate, next[stage])) continue;
        const furthest = currentStage(next, stages);
        const late = next[stage]?.late ?? (furthest !== null && stageRank(stages, furthest) > rank);
        next[stage] = { ...candidate, ...(late ? { late } : {}) };
        proved = true;
        effects.push({ type: 'recordStage', developerId: context.developerId, stage, funnelVersion, occurredAt: event.occurredAt, causeEventId, late });
      }
      if (proved) enqueue.assign({ evidence: next });
      const after = currentStage(next, stages);
      if (proved && after !== null && next[after] !== evidence[after]) {
        effects.push({ type: 'recordCurrentStage', developerId: context.developerId, funnelVersion, stage: after, rank: stageRank(stages, after), at: next[after]!.occurredAt });
      }
      if (after !== null && after !== before) {
        const proof = next[after]!;
        effects.push({
          type: 'recordTransition',
          developerId: context.developerId,
          from: before,
          to: after,
          funnelVersion,
          occurredAt: proof.occurredAt,
          causeEventId: proof.eventId,
          machineVersion: context.machineVersion,
        });
      }
      enqueueEffects(enqueue, effects);
    }),
  },
  guards: {
    hasReachedAStage: ({ context }) => currentStage(context.evidence, stagesOf(context)) !== null,
  },
});

/**
 * The version funnel rows of journeys from before the funnel was a document are recorded under:
 * the shipped funnel, stored as version 1 when Onramp first starts with a funnel store.
 */
const SHIPPED_FUNNEL_VERSION = 1;

/** The stages the journey follows. */
export function stagesOf(context: Pick<JourneyContext, 'funnel'>): readonly Stage[] {
  return context.funnel?.stages ?? SHIPPED_STAGES;
}

/**
 * A newer funnel version with each stage's evidence recomputed under it: the journey follows it
 * from now on, recording its stages, where it stands and the transitions it would have made under
 * it from the start (by event time). Pending proofs of that version apply on top; older ones go.
 */
function changeFunnel(context: JourneyContext, event: FunnelChangedEvent): { context: Partial<JourneyContext>; effects: JourneyEffect[] } | undefined {
  if (context.funnel !== undefined && event.funnel.version <= context.funnel.version) return undefined;
  const { funnel } = event;
  const evidence: EvidenceByStage = Object.fromEntries(funnel.stages.flatMap((stage) => (event.evidence[stage] ? [[stage, event.evidence[stage]]] : [])));
  for (const p of context.pendingProofs ?? []) {
    const proof = { occurredAt: p.occurredAt, eventId: p.causeEventId };
    if (p.funnel.version === funnel.version && funnel.stages.includes(p.stage) && isEarlier(proof, evidence[p.stage])) evidence[p.stage] = proof;
  }
  const pendingProofs = (context.pendingProofs ?? []).filter((p) => p.funnel.version > funnel.version);
  return {
    context: { funnel, evidence, pendingProofs: pendingProofs.length > 0 ? pendingProofs : undefined },
    effects: recordedUnder(context.developerId, funnel, evidence, context.machineVersion),
  };
}

/**
 * Evidence recorded under a funnel version the journey now follows (adopted, or changed to): its
 * stage rows, the transitions it would have made under that version from the start (in event
 * time: each proof that moved the current stage further), and where that leaves it.
 */
function recordedUnder(developerId: string, funnel: JourneyFunnel, evidence: EvidenceByStage, machineVersion: number): JourneyEffect[] {
  const funnelVersion = funnel.version;
  const rank = (stage: Stage) => stageRank(funnel.stages, stage);
  const reached = funnel.stages.filter((stage) => evidence[stage]);
  const effects: JourneyEffect[] = reached.map((stage) => {
    const proof = evidence[stage]!;
    return { type: 'recordStage', developerId, stage, funnelVersion, occurredAt: proof.occurredAt, causeEventId: proof.eventId, late: proof.late === true };
  });
  const byTime = [...reached].sort((a, b) => (isEarlier(evidence[a]!, evidence[b]!) ? -1 : isEarlier(evidence[b]!, evidence[a]!) ? 1 : rank(a) - rank(b)));
  let current: Stage | null = null;
  for (const stage of byTime) {
    if (current !== null && rank(stage) <= rank(current)) continue;
    const proof = evidence[stage]!;
    effects.push({ type: 'recordTransition', developerId, from: current, to: stage, funnelVersion, occurredAt: proof.occurredAt, causeEventId: proof.eventId, machineVersion });
    current = stage;
  }
  const standing = currentStage(evidence, funnel.stages);
  effects.push({
    type: 'recordCurrentStage',
    developerId,
    funnelVersion,
    stage: standing,
    rank: standing === null ? -1 : rank(standing),
    at: standing === null ? null : evidence[standing]!.occurredAt,
  });
  return effects;
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
    ...(input.funnel ? { funnel: input.funnel } : {}),
    evidence: {},
  }),
  type: 'parallel',
  states: {
    funnel: {
      initial: 'none',
      on: { '*': { actions: ['noteBackfill', 'applyEvidence'] } },
      // The current stage is derived from the evidence (stagesOf): a region of two states, since
      // the stages are the funnel's data, not the machine's.
      states: { none: { always: { guard: 'hasReachedAStage', target: 'reached' } }, reached: {} },
    },
    nudging: {
      on: {
        'nudge.decide': { actions: 'decideNudges' },
        'nudge.send_failed': { actions: 'recordSendFailure' },
        'developer.signed_up': { actions: 'noteForNudging' },
        'consent.updated': { actions: 'noteForNudging' },
        'email.opened': { actions: 'noteForNudging' },
        'email.clicked': { actions: 'noteForNudging' },
        'email.bounced': { actions: 'noteForNudging' },
        'email.complained': { actions: 'noteForNudging' },
        'api.error_burst': { actions: 'noteForNudging' },
        'event.seen': { actions: 'noteForNudging' },
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
  const stage = currentStage(context.evidence, stagesOf(context));
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

/** What the nudging needs to know of an event: the profile, consent, engagement, email that does not reach them, bursts, the events sent. */
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
    case 'email.bounced':
    case 'email.complained': {
      // Ingest signals hard bounces only; the earliest report by event time wins.
      if (event.type === 'email.bounced' && event.properties?.bounceType !== 'hard') return state;
      if (state.undeliverable && Date.parse(state.undeliverable.at) <= Date.parse(event.occurredAt)) return state;
      return { ...state, undeliverable: { reason: event.type === 'email.bounced' ? 'hard_bounce' : 'complaint', at: event.occurredAt } };
    }
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
    case 'event.seen': {
      const known = state.seen?.[event.eventType];
      if (known !== undefined && Date.parse(known) <= Date.parse(event.occurredAt)) return state;
      return { ...state, seen: { ...state.seen, [event.eventType]: event.occurredAt } };
    }
    default:
      return state;
  }
}
