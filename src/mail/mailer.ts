import nodemailer from 'nodemailer';

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

/** Where nudges go: an SMTP relay, or (no SMTP_URL) the local outbox, the `emails` table itself. */
export interface Mailer {
  readonly transport: 'smtp' | 'outbox';
  send(email: OutgoingEmail): Promise<{ messageId: string }>;
  close(): void;
}

export function smtpMailer(smtpUrl: string): Mailer {
  const transporter = nodemailer.createTransport(smtpUrl);
  return {
    transport: 'smtp',
    async send(email) {
      try {
        const info = await transporter.sendMail({ ...email });
        return { messageId: info.messageId };
      } catch (error) {
        throw smtpFailure(error);
      }
    },
    close: () => transporter.close(),
  };
}

/** The embedded default: the message is stored (that is the send) and listed by the API. */
export function outboxMailer(): Mailer {
  return { transport: 'outbox', send: async (email) => ({ messageId: email.messageId }), close() {} };
}

const ADDRESS = /[^\s<>"'():;,@]+@[^\s<>"'():;,@]+/g;

/**
 * A failed send as it may be logged and kept in the workflow's history: nodemailer's error names
 * the recipients (`rejected`, and the server's answer often quotes the address); this keeps the
 * code, the SMTP status and the command, and blanks every address in the message.
 */
export function smtpFailure(error: unknown): Error {
  const e = error as { message?: string; code?: string; responseCode?: number; command?: string };
  const failure = new Error(String(e?.message ?? error).replace(ADDRESS, '[address]'));
  failure.name = 'SmtpSendError';
  return Object.assign(failure, { code: e?.code, responseCode: e?.responseCode, command: e?.command });
}
