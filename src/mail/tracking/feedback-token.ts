import { isValidSignature, sign } from '../signature.ts';

/** What a "was this helpful?" link names: the developer and the email (its row id). */
export interface FeedbackTarget {
  developerId: string;
  emailId: string;
}

const PURPOSE = 'email-feedback';

/** `<payload>.<signature>`, like a tracking token but for another purpose: neither can stand for the other. */
export function feedbackToken(secret: string, target: FeedbackTarget): string {
  const payload = Buffer.from(JSON.stringify([target.developerId, target.emailId])).toString('base64url');
  return `${payload}.${sign(secret, PURPOSE, payload)}`;
}

export function readFeedbackToken(secret: string, token: string): FeedbackTarget | null {
  const [payload, signature, ...rest] = token.split('.');
  if (!payload || !signature || rest.length > 0 || !isValidSignature(secret, PURPOSE, payload, signature)) return null;
  const [developerId, emailId] = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as [string, string];
  return { developerId, emailId };
}

/** The two links of an email's footer question. */
export function feedbackUrls(publicUrl: string, secret: string, target: FeedbackTarget): { yes: string; no: string } {
  const url = (answer: 'yes' | 'no') => new URL(`/v1/feedback/${feedbackToken(secret, target)}?answer=${answer}`, publicUrl).toString();
  return { yes: url('yes'), no: url('no') };
}
