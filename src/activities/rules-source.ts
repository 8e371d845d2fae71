import type pg from 'pg';
import { NoRulesError, RuleStore } from '../rules/rule-store.ts';
import type { ActiveRules } from '../rules/rules-schema.ts';

/** The rules version in force as the journeys need it (no source, no diff: it lands in history). */
export function currentRulesFrom(pool: pg.Pool): () => Promise<ActiveRules | undefined> {
  const store = new RuleStore(pool);
  return async () => {
    try {
      const { version, document } = await store.current();
      return { version, document };
    } catch (error) {
      if (error instanceof NoRulesError) return undefined;
      throw error;
    }
  };
}
