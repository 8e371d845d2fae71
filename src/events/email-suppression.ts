/**
 * Email that does not reach a developer: the earliest hard bounce (`email.bounced`,
 * `bounceType: hard`) or spam complaint (`email.complained`) their email provider reported. The
 * stored event is the suppression (no second record to keep in step, deleted and redacted with
 * the developer's events); the nudge activity sends nothing from then on, the journey's engagement
 * segment is `none` (nudging.ts), and the journey API and the case context show it.
 */
export interface EmailSuppression {
  reason: 'hard_bounce' | 'complaint';
  /** When the provider reported it (the event's time), ISO-8601 UTC. */
  at: string;
  /** The provider that reported it (`ses`, `sendgrid`), when known. */
  provider: string | null;
  eventId: string;
}

interface Queryable {
  query<R extends object>(text: string, values: unknown[]): Promise<{ rows: R[] }>;
}

export async function readEmailSuppression(db: Queryable, developerId: string): Promise<EmailSuppression | null> {
  // `kept` and `endpoint IS NULL`: only the kept partition holds other events than API requests, and its
  // (developer_id, endpoint, occurred_at) index then skips the developer's first-session requests.
  const { rows } = await db.query<{ id: string; type: string; occurred_at: Date; provider: string | null }>(
    `SELECT id, type, occurred_at, properties->>'provider' AS provider FROM events
     WHERE kept AND developer_id = $1 AND endpoint IS NULL AND (type = 'email.complained' OR (type = 'email.bounced' AND properties->>'bounceType' = 'hard'))
     ORDER BY occurred_at, id LIMIT 1`,
    [developerId],
  );
  const row = rows[0];
  if (!row) return null;
  return { reason: row.type === 'email.complained' ? 'complaint' : 'hard_bounce', at: row.occurred_at.toISOString(), provider: row.provider, eventId: row.id };
}

/** How people read it: `email does not reach them: hard bounce on 2026-12-09`. */
export function describeSuppression({ reason, at }: Pick<EmailSuppression, 'reason' | 'at'>): string {
  return `email does not reach them: ${reason === 'hard_bounce' ? 'hard bounce' : 'spam complaint'} on ${at.slice(0, 10)}`;
}
