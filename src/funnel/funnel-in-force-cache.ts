import type pg from 'pg';
import type { ReadFunnelInForce, FunnelVersion } from './funnel-in-force.ts';
import { shippedFunnel } from './funnel-file.ts';
import { FunnelStore } from './funnel-store.ts';

/**
 * One process's cache of the funnel in force, for every part that reads the stage list: read and
 * reused for `ttlMs`, so a new version reaches them within it. Concurrent callers share one read;
 * a failed read is not kept. Before the first version is stored (start-up stores the funnel file
 * as version 1), the shipped funnel is version 1: what a database migrated from before funnel
 * versions recorded its stages under.
 */
export function funnelInForceCache(pool: pg.Pool, ttlMs = 2_000): ReadFunnelInForce {
  const store = new FunnelStore(pool);
  let cached: { at: number; value: Promise<FunnelVersion> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > ttlMs) {
      const value = store
        .active()
        .then((active) => active ?? shippedFunnel())
        .catch((error: unknown) => {
          cached = undefined;
          throw error;
        });
      cached = { at: Date.now(), value };
    }
    return cached.value;
  };
}
