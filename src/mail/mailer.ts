import { PassThrough } from 'node:stream';
import nodemailer, { type SendMailOptions } from 'nodemailer';

export interface OutgoingEmail {
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
  /** Extra headers (List-Unsubscribe …) and a deterministic Message-ID. */
  headers: Record<string, string>;
  messageId: string;
}

/** The header carrying the email's Message-ID as Onramp stored it (`emails.message_id`), whatever the relay does to the Message-ID. */
export const ONRAMP_MESSAGE_ID_HEADER = 'X-Onramp-Message-Id';

/** Controls (C0 with CR, LF and TAB; DEL; C1) and the Unicode line separators: none may reach a header line. */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** A value safe in a header: each run of control characters becomes one space (no header can be injected or folded). */
export const headerSafe = (value: string): string => value.replace(CONTROLS, ' ').trim();

/**
 * The email as it is stored and sent: every header-bound field (to, from, subject, Message-ID and
 * each header) made header-safe in this one place, so a value rendered from event data (a subject
 * naming an endpoint) can neither inject a header nor differ from what the emails table records.
 */
export function outgoingEmail(email: OutgoingEmail): OutgoingEmail {
  return {
    ...email,
    to: headerSafe(email.to),
    from: headerSafe(email.from),
    subject: headerSafe(email.subject),
    messageId: headerSafe(email.messageId),
    headers: Object.fromEntries(Object.entries(email.headers).map(([name, value]) => [headerSafe(name), headerSafe(value)])),
  };
}

/** Where nudges go: an SMTP relay, or (no SMTP_URL) the local outbox, the `emails` table itself. */
export interface Mailer {
  readonly transport: 'smtp' | 'outbox';
  send(email: OutgoingEmail): Promise<{ messageId: string }>;
  close(): void;
}

/** Per send: set once the SMTP client has read the whole message (it then ends DATA). */
interface Handoff {
  complete: boolean;
}

/**
 * nodemailer waits up to 10 minutes on a silent socket; the send activity is retried after 2. A
 * send still stuck past its retry would later mark its row 'failed' under the retry's record:
 * the socket gives up first (the URL's own `?socketTimeout=` etc. win).
 */
const SOCKET_DEFAULTS = { connectionTimeout: '30000', greetingTimeout: '30000', socketTimeout: '60000' };

export function smtpMailer(smtpUrl: string): Mailer {
  const url = new URL(smtpUrl);
  for (const [name, value] of Object.entries(SOCKET_DEFAULTS)) if (!url.searchParams.has(name)) url.searchParams.set(name, value);
  const transporter = nodemailer.createTransport(url.toString());
  // The message reaches the SMTP client through this pass-through: when the client has read its
  // last byte, the relay may have the whole message, and a failure without an SMTP answer (the
  // connection dropped before the reply to DATA) leaves it unknown whether it was accepted.
  transporter.use('stream', (mail, done) => {
    const handoff = (mail.data as { handoff?: Handoff }).handoff;
    if (handoff) {
      mail.message.processFunc((input) => {
        const through = new PassThrough();
        input.once('error', (error) => through.destroy(error));
        through.once('end', () => (handoff.complete = true));
        return input.pipe(through);
      });
    }
    done();
  });
  return {
    transport: 'smtp',
    async send(email) {
      const handoff: Handoff = { complete: false };
      try {
        const info = await transporter.sendMail({ ...email, handoff } as SendMailOptions);
        return { messageId: info.messageId };
      } catch (error) {
        throw smtpFailure(error, handoff.complete);
      }
    },
    close: () => transporter.close(),
  };
}

/**
 * True for a send that failed after the whole message went to the relay and before it answered:
 * it may have been accepted, so it must not be sent again (at most once).
 */
export function isUncertainHandoff(error: unknown): boolean {
  return (error as { uncertain?: boolean } | undefined)?.uncertain === true;
}

/**
 * True for a recipient the relay refused for good: a 5xx to RCPT TO whose enhanced status code
 * (RFC 3463) is an addressing one, `5.1.x` (no such mailbox, a bad address). Sending it again
 * would be refused again. Any other refusal, a bare `550` included, may be the relay's own trouble
 * or configuration (relaying denied, a sender not verified): retried meanwhile.
 */
export function isPermanentRejection(error: unknown): boolean {
  // The command, not nodemailer's EENVELOPE code, which a refused MAIL FROM (the sender: the deployment's) shares.
  const { command, responseCode, enhancedStatus } = (error ?? {}) as { command?: string; responseCode?: number; enhancedStatus?: string };
  return command === 'RCPT TO' && responseCode !== undefined && responseCode >= 500 && responseCode < 600 && enhancedStatus?.startsWith('5.1.') === true;
}

/** The embedded default: the message is stored (that is the send) and listed by the API. */
export function outboxMailer(): Mailer {
  return { transport: 'outbox', send: async (email) => ({ messageId: email.messageId }), close() {} };
}

const ADDRESS = /[^\s<>"'():;,@]+@[^\s<>"'():;,@]+/g;

/**
 * A failed send as it may be logged and kept in the workflow's history: nodemailer's error names
 * the recipients (`rejected`, and the server's answer often quotes the address); this keeps the
 * code, the SMTP status (and its enhanced code) and the command, and blanks every address in the message.
 */
function smtpFailure(error: unknown, messageHandedOver: boolean): Error {
  const e = error as { message?: string; code?: string; responseCode?: number; command?: string; response?: string };
  const failure = new Error(String(e?.message ?? error).replace(ADDRESS, '[address]'));
  failure.name = 'SmtpSendError';
  // An SMTP answer (4xx/5xx, to DATA too) says it was refused; no answer after the message says nothing.
  const uncertain = messageHandedOver && e?.responseCode === undefined;
  // `550 5.1.1 …`: the enhanced status code (RFC 3463), without the rest of the answer (which may quote the address).
  const enhancedStatus = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(e?.response ?? '')?.[1];
  return Object.assign(failure, { code: e?.code, responseCode: e?.responseCode, enhancedStatus, command: e?.command, uncertain });
}
