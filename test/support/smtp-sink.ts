import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from '../../src/temporal/free-port.ts';

export interface SmtpSink {
  port: number;
  /** Every message received, parsed, in arrival order. */
  received: ParsedMail[];
  close(): Promise<void>;
}

/** A local SMTP server (smtp-server, no TLS, no auth) that keeps what it receives: the real protocol end to end. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const port = await freePort();
  const received: ParsedMail[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, _session, callback) {
      simpleParser(stream).then((mail) => (received.push(mail), callback()), callback);
    },
  });
  await new Promise<void>((resolve) => smtp.listen(port, '127.0.0.1', resolve));
  return { port, received, close: () => new Promise<void>((resolve) => smtp.close(() => resolve())) };
}
