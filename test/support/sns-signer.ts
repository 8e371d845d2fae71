import { execFileSync } from 'node:child_process';
import { sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, globalAgent, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Amazon SNS for tests: a key and its self-signed certificate (openssl), served over https by a
 * local server that also answers subscription confirmations, and messages signed as SNS signs
 * them (https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html). The
 * process trusts the certificate (https.globalAgent), so the route's certificate fetch and
 * confirmation GET reach the server as they would reach sns.<region>.amazonaws.com.
 */
export interface LocalSns {
  /** `127.0.0.1:<port>`: the host to trust beside SNS's own (ONRAMP_SNS_CERT_HOSTS). */
  host: string;
  certUrl: string;
  /** A SubscribeURL on this server; its GETs are recorded in `confirmations`. */
  subscribeUrl(token: string): string;
  confirmations: string[];
  /** The envelope with SigningCertURL on this server, signed (SignatureVersion 1: SHA1, 2: SHA256). */
  signed<T extends Record<string, unknown>>(envelope: T, version?: '1' | '2'): T & { Signature: string; SigningCertURL: string; SignatureVersion: string };
  close(): Promise<void>;
}

const NOTIFICATION_FIELDS = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'];
const SUBSCRIPTION_FIELDS = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];

/** The string SNS signs: each field present, in this order, as `name\nvalue\n`. */
export function snsCanonicalString(message: Record<string, unknown>): string {
  const fields = message.Type === 'Notification' ? NOTIFICATION_FIELDS : SUBSCRIPTION_FIELDS;
  return fields
    .filter((field) => message[field] !== undefined && message[field] !== null)
    .map((field) => `${field}\n${String(message[field])}\n`)
    .join('');
}

export async function startLocalSns(): Promise<LocalSns> {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-sns-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const key = readFileSync(join(dir, 'key.pem'), 'utf8');
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const confirmations: string[] = [];
    const server: Server = createServer({ key, cert }, (request, response) => {
      const url = new URL(request.url ?? '/', 'https://127.0.0.1');
      if (url.pathname === '/SimpleNotificationService-test.pem') return void response.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(cert);
      if (url.searchParams.get('Action') === 'ConfirmSubscription') {
        confirmations.push(url.searchParams.get('Token') ?? '');
        return void response.writeHead(200, { 'content-type': 'text/xml' }).end('<ConfirmSubscriptionResponse/>');
      }
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    globalAgent.options.ca = [cert];
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const certUrl = `https://${host}/SimpleNotificationService-test.pem`;
    return {
      host,
      certUrl,
      subscribeUrl: (token) => `https://${host}/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=${token}`,
      confirmations,
      signed(envelope, version = '1') {
        const message = { ...envelope, SigningCertURL: certUrl, SignatureVersion: version };
        const signature = sign(version === '1' ? 'sha1' : 'sha256', Buffer.from(snsCanonicalString(message), 'utf8'), key).toString('base64');
        return { ...message, Signature: signature };
      },
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
