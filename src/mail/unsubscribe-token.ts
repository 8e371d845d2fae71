import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** A developer's unsubscribe token: HMAC-SHA256 of their id under the signing secret. */
export function unsubscribeToken(secret: string, developerId: string): string {
  return createHmac('sha256', secret).update(`unsubscribe:${developerId}`).digest('base64url');
}

export function isValidUnsubscribeToken(secret: string, developerId: string, token: string): boolean {
  const expected = Buffer.from(unsubscribeToken(secret, developerId));
  const presented = Buffer.from(token);
  return expected.length === presented.length && timingSafeEqual(expected, presented);
}

/**
 * The id of the revocation a link records: the same for every use of the link, so a replay (a
 * second click, a mail scanner, a retried one-click POST) is a duplicate event and no new signal.
 * A digest, not the token: event ids are shown to readers of the journey.
 */
export function unsubscribeEventId(developerId: string, token: string): string {
  return `unsubscribe:${createHash('sha256').update(`${developerId}\n${token}`).digest('base64url')}`;
}

export function unsubscribeUrl(publicUrl: string, secret: string, developerId: string): string {
  const url = new URL('/v1/unsubscribe', publicUrl);
  url.searchParams.set('developer', developerId);
  url.searchParams.set('token', unsubscribeToken(secret, developerId));
  return url.toString();
}
