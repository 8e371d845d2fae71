import { get } from 'node:https';
import MessageValidator from 'sns-validator';
import { z } from 'zod';

/**
 * Amazon SNS HTTP/S deliveries (https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html):
 * the envelope, its signature (verified by the `sns-validator` library: SignatureVersion 1,
 * SHA1withRSA, and 2, SHA256withRSA, over the canonical string AWS documents, with the signing
 * certificate fetched over https from the certificate URL, cached per URL) and the subscription
 * handshake.
 */

/** The hosts SNS serves its signing certificates and subscription links from: `sns.<region>.amazonaws.com` (`.com.cn` in China). */
const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

const text = (max: number) => z.string().min(1).max(max);

export const snsEnvelope = z.object({
  Type: z.enum(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']),
  MessageId: text(256),
  TopicArn: text(1024),
  Message: z.string().max(256 * 1024),
  Timestamp: text(64),
  SignatureVersion: z.enum(['1', '2']),
  Signature: text(4096),
  SigningCertURL: z.url().max(2048),
  Subject: z.string().max(1024).nullish(),
  Token: z.string().max(4096).optional(),
  SubscribeURL: z.url().max(4096).optional(),
  UnsubscribeURL: z.url().max(4096).optional(),
});

export type SnsEnvelope = z.infer<typeof snsEnvelope>;

export interface SnsTrust {
  /**
   * More hosts (`host` or `host:port`) trusted to serve signing certificates and subscription
   * links beside SNS's own (ONRAMP_SNS_CERT_HOSTS): for tests and private endpoints only.
   */
  extraHosts: readonly string[];
}

/** Whether `url` is https on SNS's hosts (or one trusted beside them). */
export function isSnsUrl(url: string, { extraHosts }: SnsTrust): boolean {
  const parsed = URL.parse(url);
  return parsed !== null && parsed.protocol === 'https:' && (SNS_HOST.test(parsed.hostname) || extraHosts.includes(parsed.host));
}

/** The signature checker: SNS's hosts and the trusted ones, as sns-validator's host pattern. */
export function snsVerifier(trust: SnsTrust): (envelope: SnsEnvelope) => Promise<void> {
  const escaped = trust.extraHosts.map((host) => host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const validator = new MessageValidator(new RegExp(`^(sns\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?${escaped.map((h) => `|${h}`).join('')})$`));
  return (envelope) =>
    new Promise((resolve, reject) => {
      // The library deletes a null Subject in place: it gets a copy.
      validator.validate({ ...envelope }, (error) => (error ? reject(error) : resolve()));
    });
}

/** Confirms a subscription: a GET of its SubscribeURL (SNS answers with the subscription's ARN). */
export function confirmSubscription(subscribeUrl: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = get(subscribeUrl, { timeout: 10_000 }, (response) => {
      response.resume();
      if (response.statusCode === 200) resolve();
      else reject(new Error(`SNS answered ${response.statusCode} to the subscription confirmation`));
    });
    request.on('timeout', () => request.destroy(new Error('SNS did not answer the subscription confirmation within 10 s')));
    request.on('error', reject);
  });
}
