import type pg from 'pg';
import type { ReadFunnelInForce, FunnelVersion } from './funnel-in-force.ts';
import { NoConfigVersionError } from '../rules/versioned-config-store.ts';
import { FunnelStore } from './funnel-store.ts';

/**
 * One process's cache of the funnel in force, for every part that reads the stage list: read and
 * reused for `ttlMs`, so a new version reaches them within it. Concurrent callers share one read;
 * a failed read is not kept. Before the first version (start-up stores it) a read throws a
 * NoConfigVersionError.
 */
export function funnelInForceCache(pool: pg.Pool, ttlMs = 2_000): ReadFunnelInForce {
  const store = new FunnelStore(pool);
  let cached: { at: number; value: Promise<FunnelVersion> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > ttlMs) {
      const value = store
        .active()
        .then((active) => active ?? Promise.reject(new NoConfigVersionError(store.kind.format.label)))
        .catch((error: unknown) => {
          cached = undefined;
          throw error;
        });
      cached = { at: Date.now(), value };
    }
    return cached.value;
  };
}
