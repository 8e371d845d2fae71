import type pg from 'pg';
import type { ExperimentAllocations } from '../journey/experiment-assignment.ts';
import type { RiskCrossings } from '../journey/risk-crossings.ts';
import type { ActivePolicy } from './escalation-policy-schema.ts';
import { EscalationPolicyStore } from './escalation-policy-store.ts';
import type { ActiveRules } from './rules-schema.ts';
import { RuleStore } from './rule-store.ts';

/** The rules and escalation policy in force; null before their first version. */
export interface RulesInForce {
  rules: ActiveRules | null;
  policy: ActivePolicy | null;
  /** When their risk criteria cross, when any has one (the worker measures them: src/metrics/risk-crossings.ts). */
  risk?: RiskCrossings;
  /** The weights of its adaptive experiments, once their data moves them (the worker measures them: src/metrics/experiment-allocations.ts). */
  allocations?: ExperimentAllocations;
}

export type ReadRulesInForce = () => Promise<RulesInForce>;

/**
 * The worker's one cache of the rules and policy in force, which every activity that needs them
 * reads: both are read together and reused for `ttlMs`, so a change reaches journeys within it.
 * Concurrent callers share one read; a failed read is not kept.
 */
export function rulesInForceCache(pool: pg.Pool, ttlMs = 2_000): ReadRulesInForce {
  const rules = new RuleStore(pool);
  const policy = new EscalationPolicyStore(pool);
  let cached: { at: number; value: Promise<RulesInForce> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > ttlMs) {
      const value = Promise.all([rules.active(), policy.active()]).then(
        ([r, p]) => ({ rules: r ?? null, policy: p ?? null }),
        (error: unknown) => {
          cached = undefined;
          throw error;
        },
      );
      cached = { at: Date.now(), value };
    }
    return cached.value;
  };
}
