import { enqueueActions, setup } from 'xstate';
import { currentStage, isEarlier, type EvidenceByStage } from './evidence.ts';
import type { JourneyEffect, StageAdvancedEffect, StageReachedEffect } from './journey-effects.ts';
import { stagesProvenBy, type JourneyEvent } from './journey-event.ts';
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
export const MACHINE_VERSION = 1;

export interface JourneyInput {
  developerId: string;
  machineVersion?: number;
}

export interface JourneyContext {
  developerId: string;
  machineVersion: number;
  evidence: EvidenceByStage;
}

type FunnelState = 'none' | Stage;

const noop = () => {};

const journeySetup = setup({
  types: {
    context: {} as JourneyContext,
    events: {} as JourneyEvent,
    input: {} as JourneyInput,
  },
  actions: {
    recordStage: (_: unknown, _params: StageReachedEffect) => noop(),
    recordTransition: (_: unknown, _params: StageAdvancedEffect) => noop(),
    applyEvidence: enqueueActions(({ context, event, enqueue }) => {
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
  },
});
