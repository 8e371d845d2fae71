import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Slack request signing (v0): Slack sends `X-Slack-Request-Timestamp` and
 * `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:<timestamp>:<raw body>")>`.
 * The body must be the raw bytes as received (before any form or JSON parsing).
 */

export type SignatureCheck = { ok: true } | { ok: false; reason: 'missing' | 'stale' | 'forged' };

/** A header as Node/Fastify hand it over: absent, once, or (malformed) repeated. */
type HeaderValue = string | readonly string[] | null | undefined;

export interface SignatureInput {
  signingSecret: string;
  /** `X-Slack-Request-Timestamp`: Unix seconds. */
  timestamp: HeaderValue;
  /** `X-Slack-Signature`. */
  signature: HeaderValue;
  rawBody: string | Buffer;
  /** Epoch milliseconds; defaults to the clock. */
  now?: number;
}

/** Slack's advice: refuse requests more than five minutes away from our clock (replays). */
export const MAX_SIGNATURE_SKEW_SECONDS = 5 * 60;

/** `v0=<hex>` for a timestamp and raw body. */
export function slackSignature(signingSecret: string, timestamp: string, rawBody: string | Buffer): string {
  const hmac = createHmac('sha256', signingSecret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(rawBody);
  return `v0=${hmac.digest('hex')}`;
}

/**
 * Checks a request's signature. `missing`: either header absent or empty; `stale`: the timestamp
 * is more than five minutes before or after `now`; `forged`: the timestamp is not whole seconds,
 * a header was repeated, or the signature does not match (compared in constant time).
 */
export function verifySlackSignature(input: SignatureInput): SignatureCheck {
  if (!input.signingSecret) throw new Error('Slack signing secret is not configured');
  const { timestamp, signature } = input;
  if (timestamp === undefined || timestamp === null || timestamp === '' || signature === undefined || signature === null || signature === '') {
    return { ok: false, reason: 'missing' };
  }
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return { ok: false, reason: 'forged' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'forged' };
  const nowSeconds = Math.floor((input.now ?? Date.now()) / 1000);
  if (Math.abs(nowSeconds - Number(timestamp)) > MAX_SIGNATURE_SKEW_SECONDS) return { ok: false, reason: 'stale' };

  const expected = Buffer.from(slackSignature(input.signingSecret, timestamp, input.rawBody), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  // timingSafeEqual throws on unequal lengths; the length of a valid signature is public anyway.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'forged' };
  return { ok: true };
}
