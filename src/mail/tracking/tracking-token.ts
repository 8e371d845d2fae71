import { isValidSignature, sign } from '../signature.ts';

/** What a tracking link names: the developer, the email (its row id) and, for a click, the link's index. */
export interface TrackedTarget {
  developerId: string;
  emailId: string;
  /** Index into the email's stored links; absent for the open pixel. */
  link?: number;
}

const PURPOSE = 'email-tracking';

/**
 * `<payload>.<signature>`: the payload is the target as base64url JSON, signed with the shared
 * secret, so a token names only an email and link Onramp sent. It carries no URL: the redirect
 * target is read from the stored email.
 */
export function trackingToken(secret: string, target: TrackedTarget): string {
  const payload = Buffer.from(JSON.stringify([target.developerId, target.emailId, target.link ?? null])).toString('base64url');
  return `${payload}.${sign(secret, PURPOSE, payload)}`;
}

/** The target of a genuine token, or null for a forged, tampered or malformed one. */
export function readTrackingToken(secret: string, token: string): TrackedTarget | null {
  const [payload, signature, ...rest] = token.split('.');
  if (!payload || !signature || rest.length > 0 || !isValidSignature(secret, PURPOSE, payload, signature)) return null;
  const [developerId, emailId, link] = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as [string, string, number | null];
  return link === null ? { developerId, emailId } : { developerId, emailId, link };
}

export const openPixelUrl = (publicUrl: string, token: string): string => new URL(`/v1/t/o/${token}`, publicUrl).toString();
export const clickUrl = (publicUrl: string, token: string): string => new URL(`/v1/t/c/${token}`, publicUrl).toString();
