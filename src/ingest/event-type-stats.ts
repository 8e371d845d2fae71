import pg from 'pg';
import { BUILT_IN_EVENT_TYPES, isBuiltInEventType, type IngestEvent } from '../events/event-schemas.ts';
import type { FunnelDocument } from '../funnel/funnel-schema.ts';
import type { RulesDocument } from '../rules/rules-schema.ts';
import { stagesByEventType } from '../funnel/stages-by-event-type.ts';

const { escapeLiteral } = pg;

/**
 * The event vocabulary: every type stored, counted per type in `event_type_stats` by the ingest
 * transaction, because counting `events` by type scans the largest table (about 140 ms per million
 * rows, bench/RESULTS.md).
 */

/**
 * The statement that adds a batch's newly stored events to the counts (undefined: none), its rows
 * in type order so that concurrent batches lock them in one order. Sent with the COMMIT (values
 * escaped into the text): every batch of requests updates the `api.request` row, and its lock is
 * then held for that one round trip.
 */
export function countEventTypesSql(events: readonly IngestEvent[]): string | undefined {
  const byType = new Map<string, { count: number; first: string; last: string }>();
  for (const { type, occurredAt } of events) {
    const seen = byType.get(type);
    // occurredAt is normalised ISO-8601 (fixed width, UTC): text order is time order.
    if (!seen) byType.set(type, { count: 1, first: occurredAt, last: occurredAt });
    else {
      seen.count++;
      if (occurredAt < seen.first) seen.first = occurredAt;
      if (occurredAt > seen.last) seen.last = occurredAt;
    }
  }
  if (byType.size === 0) return undefined;
  const rows = [...byType]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([type, s]) => `(${escapeLiteral(type)}, ${s.count}, ${escapeLiteral(s.first)}::timestamptz, ${escapeLiteral(s.last)}::timestamptz)`);
  return `INSERT INTO event_type_stats (type, count, first_seen_at, last_seen_at) VALUES ${rows.join(', ')}
          ON CONFLICT (type) DO UPDATE SET count = event_type_stats.count + excluded.count,
            first_seen_at = least(event_type_stats.first_seen_at, excluded.first_seen_at),
            last_seen_at = greatest(event_type_stats.last_seen_at, excluded.last_seen_at)`;
}

export interface EventTypeSummary {
  type: string;
  builtIn: boolean;
  count: number;
  firstSeenAt: string | null;
  lastSeenAt: string | null;
  /** The stages of the funnel whose evidence uses the type, in funnel order. */
  usedBy: string[];
  /** The nudge rules that wait for the type, in rules order. */
  awaitedBy: string[];
}

/**
 * Every type stored, every built-in type, and every type the funnel's evidence or a rule names (the
 * last three with count 0 until one arrives), sorted by type.
 */
export async function eventTypes(pool: pg.Pool, funnel: FunnelDocument, rules: RulesDocument | undefined): Promise<EventTypeSummary[]> {
  const { rows } = await pool.query<{ type: string; count: string; first_seen_at: Date; last_seen_at: Date }>(
    'SELECT type, count, first_seen_at, last_seen_at FROM event_type_stats',
  );
  const stored = new Map(rows.map((r) => [r.type, r]));
  const usedBy = stagesByEventType(funnel);
  const awaitedBy = new Map<string, string[]>();
  for (const rule of rules?.rules ?? []) if ('event' in rule.when) awaitedBy.set(rule.when.event, [...(awaitedBy.get(rule.when.event) ?? []), rule.id]);
  const types = [...new Set([...stored.keys(), ...BUILT_IN_EVENT_TYPES, ...usedBy.keys(), ...awaitedBy.keys()])].sort();
  return types.map((type) => {
    const row = stored.get(type);
    return {
      type,
      builtIn: isBuiltInEventType(type),
      count: row ? Number(row.count) : 0,
      firstSeenAt: row ? row.first_seen_at.toISOString() : null,
      lastSeenAt: row ? row.last_seen_at.toISOString() : null,
      usedBy: usedBy.get(type) ?? [],
      awaitedBy: awaitedBy.get(type) ?? [],
    };
  });
}
