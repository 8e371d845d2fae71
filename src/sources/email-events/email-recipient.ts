import type pg from 'pg';

/** What a provider's report says of the email it is about. */
export interface ReportedEmail {
  /** A Message-ID the report carries (Onramp's own `X-Onramp-Message-Id`, or the Message-ID header as the relay saw it). */
  messageIds: (string | undefined)[];
  /** The recipient address the report is about. */
  address: string;
}

/**
 * The developer a bounce or complaint is about: through the email Onramp sent (its Message-ID is
 * `<base64url(emailId)@onramp>`, so the email row is found by its key and checked against the
 * stored Message-ID), else the developer whose address it is (the latest email sent there, then
 * the profile's address). Undefined: no developer Onramp knows (an address it never emailed).
 */
export async function developerOfReport(pool: pg.Pool, { messageIds, address }: ReportedEmail): Promise<{ developerId: string; messageId?: string } | undefined> {
  for (const messageId of messageIds) {
    const emailId = onrampEmailId(messageId);
    if (emailId === undefined) continue;
    const [email] = (await pool.query<{ developer_id: string }>('SELECT developer_id FROM emails WHERE id = $1 AND message_id = $2', [emailId, messageId])).rows;
    if (email) return { developerId: email.developer_id, messageId: messageId! };
  }
  const [byEmail] = (await pool.query<{ developer_id: string }>('SELECT developer_id FROM emails WHERE lower(to_address) = lower($1) ORDER BY created_at DESC LIMIT 1', [address]))
    .rows;
  if (byEmail) return { developerId: byEmail.developer_id };
  const [byProfile] = (await pool.query<{ id: string }>('SELECT id FROM developers WHERE lower(email) = lower($1) ORDER BY updated_at DESC LIMIT 1', [address])).rows;
  return byProfile ? { developerId: byProfile.id } : undefined;
}

/** The email row id inside one of Onramp's Message-IDs (nudge-activities.ts), or undefined for anyone else's. */
function onrampEmailId(messageId: string | undefined): string | undefined {
  const match = /^<([A-Za-z0-9_-]+)@onramp>$/.exec(messageId?.trim() ?? '');
  return match ? Buffer.from(match[1]!, 'base64url').toString('utf8') : undefined;
}
