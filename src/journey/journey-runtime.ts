import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import { isEffectType, type MachineEffect } from './journey-effects.ts';
import { journeyMachine, type JourneyContext, type JourneyInput, type MachineEvent } from './journey-machine.ts';

/**
 * Hosts the machine with XState's pure functions: the caller keeps the snapshot, feeds events and
 * gets back the effects to execute. Used unchanged by the workflow, the tests and simulators.
 */
export type JourneySnapshot = SnapshotFrom<typeof journeyMachine>;

/** The JSON form carried across continue-as-new. */
export interface PersistedJourney {
  value: unknown;
  context: JourneyContext;
}

/** The effect actions among the machine's actions (the others are its own assigns). */
function effectsOf(actions: { type: string; params?: unknown }[]): MachineEffect[] {
  return actions.filter((action) => isEffectType(action.type)).map((action) => action.params as MachineEffect);
}

export function startJourney(input: JourneyInput): JourneySnapshot {
  return initialTransition(journeyMachine, input)[0];
}

export function applyJourneyEvent(snapshot: JourneySnapshot, event: MachineEvent): { snapshot: JourneySnapshot; effects: MachineEffect[] } {
  const [next, actions] = transition(journeyMachine, snapshot, event);
  return { snapshot: next, effects: effectsOf(actions) };
}

export function persistJourney(snapshot: JourneySnapshot): PersistedJourney {
  return { value: snapshot.value, context: snapshot.context };
}

export function restoreJourney(persisted: PersistedJourney): JourneySnapshot {
  return journeyMachine.resolveState({ value: withFunnelRegion(persisted.value) as JourneySnapshot['value'], context: persisted.context });
}

/**
 * Snapshots persisted before the funnel was a document name the current stage as the funnel
 * region's state (`{ funnel: 'first_api_call' }`): now the region only says whether one is reached.
 */
function withFunnelRegion(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !('funnel' in value)) return value;
  const funnel = (value as { funnel: unknown }).funnel;
  return { ...value, funnel: funnel === 'none' ? 'none' : 'reached' };
}
