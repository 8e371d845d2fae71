import { createHash } from 'node:crypto';
import type pg from 'pg';
import { isMachineEngagement } from '../mail/tracking/machine-engagement.ts';
import type { TrackedTarget } from '../mail/tracking/tracking-token.ts';
import type { EventIngestor } from './event-ingestor.ts';

export interface EngagementRequest {
  target: TrackedTarget;
  userAgent: string | undefined;
  at: Date;
}

interface SentEmail {
  developer_id: string;
  message_id: string | null;
  sent_at: Date | null;
  links: string[] | null;
}

/**
 * Records an open or a click of a tracked email as `email.opened` / `email.clicked` through the
 * ingestor, like any posted event. Idempotent by the event id: one open per email, one click per
 * link, however often the pixel loads or the link is followed. A machine's (src/mail/tracking/machine-engagement.ts)
 * is stored with `machine: true` under its own id, so a proxy's prefetch never takes the place of
 * the reader's open. Returns the email's stored links, or null when the email is gone (deleted).
 */
/** The sent email a signed link names, if it is still stored and the developer's; its key names the events it records. */
async function linkedEmail(pool: pg.Pool, target: TrackedTarget): Promise<{ email: SentEmail; key: string } | null> {
  const email = (await pool.query<SentEmail>('SELECT developer_id, message_id, sent_at, links FROM emails WHERE id = $1', [target.emailId])).rows[0];
  if (!email || email.developer_id !== target.developerId) return null;
  return { email, key: createHash('sha256').update(target.emailId).digest('base64url') };
}

/** Whether the reader's (not a machine's) open of the email was recorded. */
const wasOpened = async (pool: pg.Pool, key: string) => (await pool.query('SELECT 1 FROM events WHERE kept AND id = $1', [`open:${key}`])).rowCount! > 0;

export async function recordEmailEngagement(
  pool: pg.Pool,
  ingestor: EventIngestor,
  { target, userAgent, at }: EngagementRequest,
): Promise<{ links: string[]; signals: number } | null> {
  const linked = await linkedEmail(pool, target);
  if (!linked) return null;
  const { email, key } = linked;
  const links = email.links ?? [];
  const click = target.link !== undefined;
  if (click && target.link! >= links.length) return { links, signals: 0 };
  const opened = click ? await wasOpened(pool, key) : undefined;
  const machine = isMachineEngagement({ kind: click ? 'click' : 'open', userAgent, at, sentAt: email.sent_at, opened });
  const id = `${click ? `click:${key}:${target.link}` : `open:${key}`}${machine ? ':machine' : ''}`;
  const properties = { ...(email.message_id ? { messageId: email.message_id } : {}), ...(click ? { link: target.link } : {}), ...(machine ? { machine: true } : {}) };
  const result = await ingestor.ingest([{ id, type: click ? 'email.clicked' : 'email.opened', developerId: email.developer_id, occurredAt: at.toISOString(), properties }]);
  return { links, signals: result.signals };
}

/**
 * Records the reader's answer to "was this helpful?" as `email.feedback` through the ingestor: one
 * answer per email, the first (a second click, either way, is a duplicate). Null when the email is
 * gone (deleted) or not this developer's; `recorded: false` for a machine (a link scanner follows
 * both links: the page then asks with buttons a person presses).
 */
export async function recordEmailFeedback(
  pool: pg.Pool,
  ingestor: EventIngestor,
  { target, userAgent, at, helpful, confirmed }: { target: TrackedTarget; userAgent: string | undefined; at: Date; helpful: boolean; confirmed: boolean },
): Promise<{ recorded: boolean; signals: number } | null> {
  const linked = await linkedEmail(pool, target);
  if (!linked) return null;
  const { email, key } = linked;
  // A form posted from the page is a person; a followed link may be a scanner.
  if (!confirmed && isMachineEngagement({ kind: 'click', userAgent, at, sentAt: email.sent_at, opened: await wasOpened(pool, key) })) return { recorded: false, signals: 0 };
  const properties = { ...(email.message_id ? { messageId: email.message_id } : {}), helpful };
  const result = await ingestor.ingest([{ id: `feedback:${key}`, type: 'email.feedback', developerId: email.developer_id, occurredAt: at.toISOString(), properties }]);
  return { recorded: true, signals: result.signals };
}
