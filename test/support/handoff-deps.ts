import type pg from 'pg';
import type { JourneyWorkerOptions } from '../../src/assembly/journey-worker.ts';
import { PUBLIC_URL } from './nudge-deps.ts';

/** The handoff activities' dependencies for tests and the bench: no Slack unless given. */
export function testHandoffDeps(pool: pg.Pool, overrides: Partial<JourneyWorkerOptions['handoffs']> = {}): JourneyWorkerOptions['handoffs'] {
  return {
    publicUrl: PUBLIC_URL,
    ...overrides,
  };
}
