import type pg from 'pg';

/** The requests and custom events waiting for their key's creation (unattributed_requests). */
export interface UnattributedBacklog {
  waiting: number;
  oldestReceivedAt: string | null;
  oldestAgeSeconds: number | null;
}

/**
 * The backlog's size and its oldest entry, apart: together, min() would read every row as count()
 * does; alone it is one probe of the received_at index. The count scans the narrow table, never
 * events (a million waiting: about 55 ms on 2 busy cores).
 */
export async function unattributedBacklog(pool: pg.Pool, now: Date): Promise<UnattributedBacklog> {
  const { rows } = await pool.query<{ waiting: string; oldest: Date | null }>(
    'SELECT (SELECT count(*) FROM unattributed_requests) AS waiting, (SELECT min(received_at) FROM unattributed_requests) AS oldest',
  );
  const oldest = rows[0]?.oldest ?? null;
  return {
    waiting: Number(rows[0]?.waiting ?? 0),
    oldestReceivedAt: oldest?.toISOString() ?? null,
    oldestAgeSeconds: oldest ? Math.max(0, Math.floor((now.getTime() - oldest.getTime()) / 1000)) : null,
  };
}
