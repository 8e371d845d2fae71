import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import type { JourneyEffect } from './journey-effects.ts';
import type { JourneyEvent } from './journey-event.ts';
import { journeyMachine, type JourneyContext, type JourneyInput } from './journey-machine.ts';

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

const EFFECT_TYPES = new Set<string>(['recordStage', 'recordTransition']);

function effectsOf(actions: { type: string; params?: unknown }[]): JourneyEffect[] {
  return actions.filter((action) => EFFECT_TYPES.has(action.type)).map((action) => action.params as JourneyEffect);
}

export function startJourney(input: JourneyInput): JourneySnapshot {
  return initialTransition(journeyMachine, input)[0];
}

export function applyJourneyEvent(snapshot: JourneySnapshot, event: JourneyEvent): { snapshot: JourneySnapshot; effects: JourneyEffect[] } {
  const [next, actions] = transition(journeyMachine, snapshot, event);
  return { snapshot: next, effects: effectsOf(actions) };
}

export function persistJourney(snapshot: JourneySnapshot): PersistedJourney {
  return { value: snapshot.value, context: snapshot.context };
}

export function restoreJourney(persisted: PersistedJourney): JourneySnapshot {
  return journeyMachine.resolveState({ value: persisted.value as JourneySnapshot['value'], context: persisted.context });
}
