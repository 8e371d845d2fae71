import type pg from 'pg';
import type { HandoffActivityDeps } from '../../src/activities/handoff-activities.ts';
import { PUBLIC_URL } from './nudge-deps.ts';

/** The handoff activities' dependencies for tests and the bench: no Slack unless given. */
export function testHandoffDeps(pool: pg.Pool, overrides: Partial<HandoffActivityDeps> = {}): Omit<HandoffActivityDeps, 'pool' | 'rulesInForce'> {
  return {
    publicUrl: PUBLIC_URL,
    ...overrides,
  };
}
