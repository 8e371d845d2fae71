import { z } from 'zod';

/**
 * Auth0's log stream (a Custom Webhook stream) as signups: each delivery holds tenant log records
 * `{log_id, data: {date, type, user_id, user_name, …}}` as a JSON array, JSON lines or one object.
 * A successful signup (`ss`) or login (`s`, for users who signed up before the stream existed)
 * becomes the user's `developer.signed_up` (the earliest wins, as for every source); every other
 * type is acknowledged and not stored. Auth0 knows no account type or channel: `individual`, `other`.
 */

export const auth0LogRecord = z.object({
  log_id: z.string().min(1).max(200),
  data: z
    .object({
      date: z.iso.datetime({ offset: true }),
      type: z.string(),
      user_id: z.string().min(1).max(200).optional(),
      user_name: z.string().max(320).optional(),
    })
    .loose(),
});

export type Auth0LogRecord = z.output<typeof auth0LogRecord>;

/** The log types that sign a developer up: a successful signup, or login. */
export const SIGNUP_LOG_TYPES = new Set(['ss', 's']);

/** The records of a delivery, whatever content format the stream was set to; undefined when it is none of them. */
export function recordsOf(body: string): unknown[] | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    return Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    try {
      return body
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as unknown);
    } catch {
      return undefined;
    }
  }
}

/** A signup record as Onramp's event; a reason instead when it cannot be one (no user id, no email). */
export function signupFromAuth0(record: Auth0LogRecord): { event: Record<string, unknown> } | { ignored: string } {
  const { data } = record;
  if (!data.user_id) return { ignored: 'no user_id' };
  if (!data.user_name || !z.email().safeParse(data.user_name).success) return { ignored: 'user_name is not an email address' };
  return {
    event: {
      id: `auth0:${record.log_id}`,
      type: 'developer.signed_up',
      developerId: data.user_id,
      occurredAt: new Date(data.date).toISOString(),
      properties: { email: data.user_name, accountType: 'individual', acquisitionChannel: 'other' },
    },
  };
}
