import type pg from 'pg';
import type { HandoffActivityDeps } from '../../src/activities/handoff-activities.ts';
import { EscalationPolicyStore } from '../../src/rules/escalation-policy-store.ts';
import { RuleStore } from '../../src/rules/rule-store.ts';
import { PUBLIC_URL } from './nudge-deps.ts';

/** The handoff activities' dependencies for tests and the bench: rules and policy from the database, no Slack unless given. */
export function testHandoffDeps(pool: pg.Pool, overrides: Partial<HandoffActivityDeps> = {}): Omit<HandoffActivityDeps, 'pool'> {
  const rules = new RuleStore(pool);
  const policy = new EscalationPolicyStore(pool);
  return {
    currentRules: () => rules.active(),
    currentPolicy: () => policy.active(),
    publicUrl: PUBLIC_URL,
    ttlMs: 0,
    ...overrides,
  };
}
