import { Writable } from 'node:stream';
import { shippedFunnelInForce } from '../support/shipped-funnel.ts';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type OnrampApp } from '../../src/api/build-app.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { withTransaction } from '../../src/db/sql.ts';
import { createLogger, logFormat, type LogFormat } from '../../src/logger.ts';
import { isPermanentRejection, smtpMailer } from '../../src/mail/mailer.ts';
import { unsubscribeUrl } from '../../src/mail/unsubscribe-token.ts';
import { freePort } from '../../src/temporal/free-port.ts';
import { SIGNING_SECRET } from '../support/nudge-deps.ts';
import { createMigratedTestDatabase } from '../support/migrated-database.ts';
import type { TestDatabase } from '../support/test-databases.ts';

/**
 * Secrets never logged, personal data kept out of logs: the API's logger at its most verbose
 * (trace) through a day of requests — keys right and wrong, signups with emails, gateway lines
 * with user agents, an unsubscribe link — and not one of those values in what it wrote. And a
 * rejected SMTP send: the error the worker logs (and Temporal keeps) names no address.
 */

const INGEST_KEY = 'hygiene-ingest-key-0123456789';
const ADMIN_KEY = 'hygiene-admin-key-0123456789';
const WRONG_KEY = 'hygiene-wrong-key-SECRET-0000';
const EMAIL = 'pii.marker.person@example.com';
const USER_AGENT = 'AcmeBilling/2.1 (ops: ua.marker.owner@example.com) UA-MARKER-123';

let database: TestDatabase;
let db: Database;

beforeAll(async () => {
  database = await createMigratedTestDatabase('pglite');
  db = openDatabase(database.url, { max: database.maxConnections });
}, 120_000);

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

/** An API whose logger, at trace and in `format`, writes into `lines`. */
async function appLoggingTo(lines: string[], format: LogFormat): Promise<OnrampApp> {
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  // The ingest path never calls Temporal: a lazy client that is never used.
  const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  return buildApp({
    db,
    temporal,
    logger: createLogger('trace', sink, format),
    ingestKeys: [INGEST_KEY],
    adminKeys: [ADMIN_KEY],
    signingSecret: SIGNING_SECRET,
    funnel: shippedFunnelInForce,
  });
}

/** The requests of a day: keys right and wrong, a signup with an email, a user agent, a bad event, an unsubscribe link, an admin read. */
async function aDayOfRequests(app: OnrampApp): Promise<{ requests: number; token: string }> {
  const post = (body: unknown, key = INGEST_KEY) =>
    app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  const now = new Date().toISOString();
  const signup = {
    id: 'hyg-1',
    type: 'developer.signed_up',
    developerId: 'dev_hyg',
    occurredAt: now,
    properties: { email: EMAIL, accountType: 'individual', acquisitionChannel: 'paid' },
  };
  expect((await post(signup)).statusCode).toBe(202);
  expect(
    (
      await post({
        id: 'hyg-2',
        type: 'api.request',
        developerId: 'dev_hyg',
        occurredAt: now,
        properties: { endpoint: '/v1/charges', method: 'POST', status: 200, userAgent: USER_AGENT, mode: 'test' },
      })
    ).statusCode,
  ).toBe(202);
  expect((await post(signup, WRONG_KEY)).statusCode).toBe(401);
  expect((await post({ ...signup, id: 'hyg-3', properties: { ...signup.properties, email: `not an address ${EMAIL}` } })).statusCode).toBe(400);
  const link = new URL(unsubscribeUrl('http://onramp.test', SIGNING_SECRET, 'dev_hyg'));
  expect((await app.inject({ method: 'GET', url: `${link.pathname}${link.search}` })).statusCode).toBe(200);
  expect((await app.inject({ method: 'GET', url: '/v1/rules', headers: { authorization: `Bearer ${ADMIN_KEY}` } })).statusCode).not.toBe(401);
  return { requests: 6, token: link.searchParams.get('token')! };
}

describe('logs: no secrets, no personal data', () => {
  it.each(['json', 'pretty'] as const)(
    'trace-level API logs (%s) of keys, signups, user agents, a failed auth and an unsubscribe link hold none of their values',
    async (format) => {
      const lines: string[] = [];
      const app = await appLoggingTo(lines, format);
      const { token } = await aDayOfRequests(app).finally(() => app.close());

      const log = lines.join('');
      // The requests were logged (so the test would see a leak) …
      expect(log).toContain(format === 'json' ? '"url":"/v1/events"' : 'POST /v1/events 202');
      expect(log).toContain('/v1/unsubscribe?developer=dev_hyg&token=%5Bredacted%5D');
      // … and none of the secrets or personal data they carried.
      for (const secret of [INGEST_KEY, ADMIN_KEY, WRONG_KEY, token, SIGNING_SECRET]) expect(log).not.toContain(secret);
      for (const personal of [EMAIL, 'UA-MARKER-123', 'ua.marker.owner']) expect(log).not.toContain(personal);
    },
  );
});

describe('logs: a person can read them', () => {
  it('one line per request, at debug, naming method, URL, status and time; nothing at info', async () => {
    const lines: string[] = [];
    const app = await appLoggingTo(lines, 'json');
    const { requests } = await aDayOfRequests(app).finally(() => app.close());
    const entries = lines.map((line) => JSON.parse(line) as { level: number; msg: string; statusCode?: number; req?: { url: string } });
    const requestLines = entries.filter((entry) => entry.req !== undefined);
    expect(requestLines).toHaveLength(requests);
    expect(new Set(requestLines.map((entry) => entry.level))).toEqual(new Set([pino.levels.values.debug]));
    expect(requestLines[0]).toMatchObject({ msg: expect.stringMatching(/^POST \/v1\/events 202 \d+(\.\d)? ms$/), statusCode: 202, req: { url: '/v1/events' } });
    expect(entries.filter((entry) => entry.level >= pino.levels.values.info!)).toEqual([]);
  });

  it('pretty prints one line per entry, without colour codes when not writing to the terminal', async () => {
    const lines: string[] = [];
    const app = await appLoggingTo(lines, 'pretty');
    const { requests } = await aDayOfRequests(app).finally(() => app.close());
    const requestLines = lines
      .join('')
      .split('\n')
      .filter((line) => / ms(\s|$)/.test(line));
    expect(requestLines).toHaveLength(requests);
    expect(requestLines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] DEBUG: POST \/v1\/events 202 [\d.]+ ms \{"reqId":"req-\d+"\}$/);
    expect(lines.join('')).not.toContain('\u001b[');
  });

  it('LOG_FORMAT decides; unset, pretty on a terminal and JSON anywhere else', () => {
    expect(logFormat(undefined, { isTTY: true })).toBe('pretty');
    expect(logFormat(undefined, { isTTY: false })).toBe('json');
    expect(logFormat(undefined, {})).toBe('json');
    expect(logFormat('json', { isTTY: true })).toBe('json');
    expect(logFormat('pretty', { isTTY: false })).toBe('pretty');
  });
});

describe('logs: no personal data in errors', () => {
  it('a database error is logged as its SQLSTATE and statement, never the values PostgreSQL quotes', async () => {
    const record = JSON.stringify({ email: EMAIL, note: 'note.marker.text', bad: 'x' }).replace('"x"', '"\\ud800"');
    const failures = [
      // The JSON's context ("JSON data, line 1: …") quotes the event.
      () => withTransaction(db.pool, (sql) => sql({ name: 'hygiene-json', text: 'SELECT $1::jsonb' }, record)),
      // The message quotes the value refused.
      () => withTransaction(db.pool, (sql) => sql('SELECT $1::int AS n', `${EMAIL} note.marker.text`)),
      // Through Prisma, whose message quotes PostgreSQL's.
      () => db.prisma.$queryRawUnsafe('SELECT $1::timestamptz AS at', EMAIL),
    ];
    const sink: string[] = [];
    const logger = createLogger('info', new Writable({ write: (chunk, _encoding, callback) => (sink.push(String(chunk)), callback()) }));
    for (const fail of failures) {
      const error = await fail().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      // pino's own serializer would have written the values PostgreSQL quoted.
      expect(JSON.stringify(pino.stdSerializers.err(error as Error))).toMatch(/pii\.marker|note\.marker/);
      logger.error({ err: error }, 'unhandled error');
      logger.warn({ error }, 'activity failed'); // the Temporal SDK's key
    }
    const logged = sink.map((line) => JSON.parse(line) as { err?: Record<string, unknown>; error?: Record<string, unknown> });
    expect(logged.map((l) => (l.err ?? l.error)!.sqlstate)).toEqual(['22P02', '22P02', '22P02', '22P02', '22007', '22007']);
    expect(logged[0]!.err).toMatchObject({ statement: 'hygiene-json', message: 'database error 22P02 in hygiene-json' });
    expect(logged[2]!.err).toMatchObject({ statement: 'SELECT $1::int AS n' });
    for (const personal of [EMAIL, 'pii.marker', 'note.marker']) expect(sink.join('')).not.toContain(personal);
  });

  it('a recipient rejected by the SMTP server: the error keeps the code and status, not the address', async () => {
    const port = await freePort();
    const smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onRcptTo(address, _session, callback) {
        callback(Object.assign(new Error(`5.1.1 <${address.address}>: Recipient address rejected`), { responseCode: 550 }));
      },
    });
    await new Promise<void>((resolve) => smtp.listen(port, '127.0.0.1', resolve));
    try {
      const mailer = smtpMailer(`smtp://127.0.0.1:${port}`);
      const error = await mailer.send({ to: EMAIL, from: 'Onramp <onboarding@onramp.test>', subject: 's', text: 't', html: 'h', headers: {}, messageId: '<m@onramp>' }).then(
        () => new Error('sent: the server should have refused it'),
        (e: unknown) => e as Error,
      );
      mailer.close();
      expect(error).toBeInstanceOf(Error);
      expect(error).toMatchObject({ name: 'SmtpSendError', responseCode: 550, enhancedStatus: '5.1.1', code: 'EENVELOPE' });
      // No such mailbox (5.1.1): refused for good, the nudge activity does not retry it; a bare 550 or a 4xx it does.
      expect(isPermanentRejection(error)).toBe(true);
      expect(isPermanentRejection({ ...error, enhancedStatus: undefined })).toBe(false);
      expect(isPermanentRejection({ ...error, responseCode: 450, enhancedStatus: '4.1.1' })).toBe(false);
      expect(error.message).toContain('[address]');
      // As the worker's logger would write it (pino's error serializer: every own property).
      const logged = JSON.stringify(pino.stdSerializers.err(error));
      expect(logged).not.toContain(EMAIL);
      expect(logged).not.toContain('pii.marker');
    } finally {
      await new Promise<void>((resolve) => smtp.close(resolve));
    }
  });
});
