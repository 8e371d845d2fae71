import type pg from 'pg';
import type { FunnelVersion, ReadFunnelInForce } from './funnel-in-force.ts';
import { FunnelStore } from './funnel-store.ts';

/**
 * The funnel a developer's journey follows, for whatever shows its stages (the journey API, Slack
 * cases, nudge emails): the version the read model recorded with where the journey stands
 * (`developers.funnel_version`). A journey that has recorded nothing yet, or a version not stored
 * (the shipped funnel before start-up stored it), reads as the funnel in force. Between a funnel
 * change and the journey hearing of it, that is the older version: the one its stages are in.
 */
export async function followedFunnel(pool: pg.Pool, developerId: string, inForce: ReadFunnelInForce): Promise<FunnelVersion> {
  const [current, followed] = await Promise.all([inForce(), pool.query<{ funnel_version: number | null }>('SELECT funnel_version FROM developers WHERE id = $1', [developerId])]);
  const version = followed.rows[0]?.funnel_version ?? null;
  if (version === null || version === current.version) return current;
  const stored = await new FunnelStore(pool).get(version);
  return stored ? { version, document: stored.document } : current;
}
