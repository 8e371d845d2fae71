import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** A new signing secret as Standard Webhooks writes them: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export interface SigningSecrets {
  secret: string;
  /** The secret before a rotation, signed with too while it lasts so receivers can switch without a gap. */
  previous?: string | null;
}

/**
 * The Standard Webhooks headers of one attempt. `webhook-signature` carries one `v1,` signature per
 * secret in force, space-separated; a receiver accepts the message if any matches its secret.
 */
export function signWebhook(msgId: string, at: Date, body: string, { secret, previous }: SigningSecrets): Record<string, string> {
  const signatures = [secret, ...(previous ? [previous] : [])].map((s) => new Webhook(s).sign(msgId, at, body));
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}
