import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The one home for signing what Onramp puts in email links (unsubscribe, open and click
 * tracking): HMAC-SHA256 under the signing secret the api and the worker share. The purpose
 * prefixes the message, so a signature made for one kind of link is never valid for another.
 */
export function sign(secret: string, purpose: string, message: string): string {
  return createHmac('sha256', secret).update(`${purpose}:${message}`).digest('base64url');
}

/** Constant-time check of a presented signature. */
export function isValidSignature(secret: string, purpose: string, message: string, signature: string): boolean {
  const expected = Buffer.from(sign(secret, purpose, message));
  const presented = Buffer.from(signature);
  return expected.length === presented.length && timingSafeEqual(expected, presented);
}
