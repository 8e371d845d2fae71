import type { RuleStore } from '../rules/rule-store.ts';
import { DEFAULT_BURST_THRESHOLDS, type BurstThresholds } from './error-bursts.ts';

/** The error-burst thresholds of the rules in force (the schema's defaults before the first version), re-read at most every `ttlMs`. */
export function burstThresholdsFrom(store: RuleStore, ttlMs = 5_000): () => Promise<BurstThresholds> {
  let cached: { at: number; value: Promise<BurstThresholds> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > ttlMs) {
      const value = store.active().then(
        (rules) => rules?.document.policy.errorBursts ?? DEFAULT_BURST_THRESHOLDS,
        (error: unknown) => {
          cached = undefined; // a database hiccup is not cached
          throw error;
        },
      );
      cached = { at: Date.now(), value };
    }
    return cached.value;
  };
}
