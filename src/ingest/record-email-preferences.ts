import type { Sql } from '../db/sql.ts';
import { isEarlier, isEarlierSql } from '../journey/evidence-order.ts';
import type { IngestEvent } from '../events/event-schemas.ts';

type ConsentEvent = Extract<IngestEvent, { type: 'consent.updated' }>;

/**
 * The read model of email preferences (`email_preferences`): each stored `consent.updated`, in
 * evidence order, replaces the overall choice and merges its categories over the earlier ones,
 * unless a later event is already in force (events may arrive out of order).
 */
export async function recordEmailPreferences(sql: Sql, consents: ConsentEvent[]): Promise<void> {
  const ordered = [...consents].sort((a, b) =>
    a.developerId !== b.developerId
      ? a.developerId < b.developerId
        ? -1
        : 1
      : isEarlier({ occurredAt: a.occurredAt, eventId: a.id }, { occurredAt: b.occurredAt, eventId: b.id })
        ? -1
        : 1,
  );
  for (const e of ordered) {
    await sql(
      `INSERT INTO email_preferences AS p (developer_id, email, categories, occurred_at, event_id) VALUES ($1, $2, $3::jsonb, $4, $5)
       ON CONFLICT (developer_id) DO UPDATE SET email = excluded.email, categories = p.categories || excluded.categories,
         occurred_at = excluded.occurred_at, event_id = excluded.event_id
       WHERE ${isEarlierSql(['p.occurred_at', 'p.event_id'], ['excluded.occurred_at', 'excluded.event_id'])}`,
      e.developerId,
      e.properties.email,
      JSON.stringify(e.properties.categories ?? {}),
      e.occurredAt,
      e.id,
    );
  }
}
