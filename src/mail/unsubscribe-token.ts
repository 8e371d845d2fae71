import { createHmac, timingSafeEqual } from 'node:crypto';

/** A developer's unsubscribe token: HMAC-SHA256 of their id under the signing secret. */
export function unsubscribeToken(secret: string, developerId: string): string {
  return createHmac('sha256', secret).update(`unsubscribe:${developerId}`).digest('base64url');
}

export function isValidUnsubscribeToken(secret: string, developerId: string, token: string): boolean {
  const expected = Buffer.from(unsubscribeToken(secret, developerId));
  const presented = Buffer.from(token);
  return expected.length === presented.length && timingSafeEqual(expected, presented);
}

export function unsubscribeUrl(publicUrl: string, secret: string, developerId: string): string {
  const url = new URL('/v1/unsubscribe', publicUrl);
  url.searchParams.set('developer', developerId);
  url.searchParams.set('token', unsubscribeToken(secret, developerId));
  return url.toString();
}
