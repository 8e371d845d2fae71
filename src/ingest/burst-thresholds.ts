import { NoRulesError, type RuleStore } from '../rules/rule-store.ts';
import { nudgePolicy } from '../rules/rules-schema.ts';
import type { BurstThresholds } from './error-bursts.ts';

const DEFAULTS = nudgePolicy.parse({}).errorBursts;

/** The error-burst thresholds of the rules in force, re-read at most every `ttlMs`. */
export function burstThresholdsFrom(store: RuleStore, ttlMs = 5_000): () => Promise<BurstThresholds> {
  let cached: { at: number; value: Promise<BurstThresholds> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > ttlMs) {
      const value = store.current().then(
        (rules) => rules.document.policy.errorBursts,
        (error: unknown) => {
          if (error instanceof NoRulesError) return DEFAULTS;
          cached = undefined; // a database hiccup is not cached
          throw error;
        },
      );
      cached = { at: Date.now(), value };
    }
    return cached.value;
  };
}
