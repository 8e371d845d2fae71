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
      const info = await transporter.sendMail({ ...email });
      return { messageId: info.messageId };
    },
    close: () => transporter.close(),
  };
}

/** The embedded default: the message is stored (that is the send) and listed by the API. */
export function outboxMailer(): Mailer {
  return { transport: 'outbox', send: async (email) => ({ messageId: email.messageId }), close() {} };
}
