import type { Sql } from '../db/sql.ts';
import { isEarlier, isEarlierSql } from '../journey/evidence-order.ts';
import { eventSeenSignalId, type EventSeenEvent } from '../journey/journey-event.ts';
import type { DevelopersEvent } from './funnel-evidence.ts';

/**
 * Which events each developer has sent: the earliest of each type (any but api.request), kept in
 * `developer_first_events` and told to the journey as `event.seen` when an event lowers it, so a
 * rule waiting for an event's absence (`when: {event, absentAfter}`) decides on what the developer
 * did, whenever the rule was written. Requests are left out: they are the funnel's evidence, and
 * counting them here would cost every request batch a statement.
 */

interface FirstEvent {
  developerId: string;
  eventType: string;
  occurredAt: string;
  eventId: string;
}

/** Lowers the stored first events where the batch has an earlier one and returns the signals for those. */
export async function noteFirstEvents(sql: Sql, events: readonly DevelopersEvent[]): Promise<{ developerId: string; event: EventSeenEvent }[]> {
  const earliest = new Map<string, FirstEvent>();
  for (const { developerId, event } of events) {
    if (event.type === 'api.request') continue;
    const candidate = { developerId, eventType: event.type, occurredAt: event.occurredAt, eventId: event.id };
    const key = `${developerId}\u0000${event.type}`;
    if (isEarlier(candidate, earliest.get(key))) earliest.set(key, candidate);
  }
  if (earliest.size === 0) return [];
  // In key order: concurrent batches lock the rows in one order.
  const firsts = [...earliest].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, first]) => first);
  const rows = await sql<{ developer_id: string; event_type: string }>(
    `INSERT INTO developer_first_events AS t (developer_id, event_type, occurred_at, event_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[])
     ON CONFLICT (developer_id, event_type) DO UPDATE SET occurred_at = excluded.occurred_at, event_id = excluded.event_id
       WHERE ${isEarlierSql(['excluded.occurred_at', 'excluded.event_id'], ['t.occurred_at', 't.event_id'])}
     RETURNING developer_id, event_type`,
    firsts.map((f) => f.developerId),
    firsts.map((f) => f.eventType),
    firsts.map((f) => f.occurredAt),
    firsts.map((f) => f.eventId),
  );
  const lowered = new Set(rows.map((r) => `${r.developer_id}\u0000${r.event_type}`));
  return firsts
    .filter((f) => lowered.has(`${f.developerId}\u0000${f.eventType}`))
    .map((f) => ({ developerId: f.developerId, event: { id: eventSeenSignalId(f.eventId), type: 'event.seen', eventType: f.eventType, occurredAt: f.occurredAt } }));
}
