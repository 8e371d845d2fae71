import type { RuleStore } from '../rules/rule-store.ts';
import { DEFAULT_BURST_THRESHOLDS, type BurstThresholds } from './error-bursts.ts';

/**
 * The error-burst thresholds of the rules in force (the schema's defaults before the first version), re-read at most every `ttlMs`.
 * A version stored before a field existed (`continuedWithin`) gets that field's default: stored documents are not re-validated.
 */
export function burstThresholdsFrom(store: RuleStore, ttlMs = 5_000): () => Promise<BurstThresholds> {
  let cached: { at: number; value: Promise<BurstThresholds> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > ttlMs) {
      const value = store.active().then(
        (rules) => ({ ...DEFAULT_BURST_THRESHOLDS, ...rules?.document.policy.errorBursts }),
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
