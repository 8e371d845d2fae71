import { createHash } from 'node:crypto';
import { isValidSignature, sign } from './signature.ts';

/** A developer's unsubscribe token: HMAC-SHA256 of their id under the signing secret. */
export function unsubscribeToken(secret: string, developerId: string): string {
  return sign(secret, 'unsubscribe', developerId);
}

export function isValidUnsubscribeToken(secret: string, developerId: string, token: string): boolean {
  return isValidSignature(secret, 'unsubscribe', developerId, token);
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

/** The preference centre, signed like the unsubscribe link (whoever may stop all email may choose which). */
export function preferencesUrl(publicUrl: string, secret: string, developerId: string): string {
  const url = new URL('/v1/preferences', publicUrl);
  url.searchParams.set('developer', developerId);
  url.searchParams.set('token', unsubscribeToken(secret, developerId));
  return url.toString();
}
