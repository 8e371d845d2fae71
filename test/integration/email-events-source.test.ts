import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalSns, type LocalSns } from '../support/sns-signer.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

const INGEST_KEY = 'email-events-ingest-key-0123';
const ADMIN_KEY = 'email-events-admin-key-01234';
const fixture = (path: string) => JSON.parse(readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8')) as Record<string, any>;
/** AWS's documented examples (test/fixtures/ses/README.md). */
const bounce = fixture('ses/bounce.json');
const complaint = fixture('ses/complaint.json');
const delivery = fixture('ses/delivery.json');
const notificationEnvelope = fixture('ses/notification.json');
const subscriptionEnvelope = fixture('ses/subscription-confirmation.json');
/** SendGrid's documented example events (test/fixtures/sendgrid/README.md). */
const sendgridEvents = fixture('sendgrid/events.json') as unknown as Record<string, unknown>[];

/** A key pair as SendGrid's signed Event Webhook uses (ECDSA P-256); the public key as SendGrid shows it (base64 DER). */
const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const SENDGRID_PUBLIC_KEY = sendgridKeys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

/**
 * Email provider events: Amazon SES through an SNS HTTPS subscription (messages signed as SNS signs
 * them, the certificate served by a local https server) and SendGrid's signed Event Webhook. Hard
 * bounces and complaints become events of the developers they are about, signalled to their
 * journeys and shown by the journey API; soft bounces are stored only; forged deliveries store
 * nothing; duplicates are harmless.
 */
describe.each(databaseBackends())('email provider events (%s)', (backend) => {
  let t: TestApp;
  let restricted: TestApp;
  let unconfigured: TestApp;
  let sns: LocalSns;

  const post = (url: string, payload: string, headers: Record<string, string> = {}, app = () => t) =>
    app().app.inject({ method: 'POST', url, headers: { 'content-type': 'text/plain; charset=UTF-8', ...headers }, payload });
  /** An SNS Notification carrying this SES notification, signed. */
  const sesDelivery = (messageId: string, notification: unknown, { version = '1' as '1' | '2', tamper = (raw: string) => raw, app = () => t } = {}) =>
    post('/v1/sources/ses', tamper(JSON.stringify(sns.signed({ ...notificationEnvelope, MessageId: messageId, Message: JSON.stringify(notification) }, version))), {}, app);
  const sendgrid = (events: unknown, { key = sendgridKeys.privateKey, timestamp = String(Math.floor(Date.now() / 1000)), tamper = (raw: string) => raw, app = () => t } = {}) => {
    const raw = JSON.stringify(events);
    const signature = sign('sha256', Buffer.from(timestamp + raw), key).toString('base64');
    return app().app.inject({
      method: 'POST',
      url: '/v1/sources/sendgrid',
      headers: { 'content-type': 'application/json', 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': timestamp },
      payload: tamper(raw),
    });
  };
  const stored = async (idPrefix: string) => (await t.db.pool.query(`SELECT id, type, developer_id, properties FROM events WHERE id LIKE $1 || '%' ORDER BY id`, [idPrefix])).rows;
  /** Whether the event's signal waits in the outbox for the developer's journey. */
  const signalled = async (eventId: string) => (await t.db.pool.query(`SELECT 1 FROM outbox_signals WHERE signal_id = $1`, [eventId])).rowCount === 1;

  beforeAll(async () => {
    sns = await startLocalSns();
    const emailEvents = { sendgridPublicKey: SENDGRID_PUBLIC_KEY, snsCertHosts: [sns.host] };
    t = await startTestApp(backend, { keys: { ingest: INGEST_KEY, admin: ADMIN_KEY }, emailEvents });
    restricted = await startTestApp(backend, {
      keys: { ingest: INGEST_KEY, admin: ADMIN_KEY },
      emailEvents: { ...emailEvents, sesTopicArns: ['arn:aws:sns:us-west-2:123456789012:Other'] },
    });
    unconfigured = await startTestApp(backend, { keys: { ingest: INGEST_KEY, admin: ADMIN_KEY } });
    const signups = ['jane', 'mary', 'richard', 'nudged'].map((name) => ({
      id: `signup-${name}`,
      type: 'developer.signed_up',
      developerId: `dev_${name}`,
      occurredAt: '2016-01-01T00:00:00.000Z',
      properties: { email: `${name}@example.com`, accountType: 'individual', acquisitionChannel: 'direct' },
    }));
    const response = await t.app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${INGEST_KEY}` }, payload: { events: signups } });
    expect(response.statusCode, response.body).toBe(202);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await restricted?.close();
    await unconfigured?.close();
    await sns?.close();
  });

  it('confirms an SNS subscription by fetching its SubscribeURL', async () => {
    const message = sns.signed({ ...subscriptionEnvelope, SubscribeURL: sns.subscribeUrl(subscriptionEnvelope.Token) });
    const response = await post('/v1/sources/ses', JSON.stringify(message));
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({ accepted: 0, duplicates: 0, unmatched: 0, confirmed: true });
    expect(sns.confirmations).toEqual([subscriptionEnvelope.Token]);
    // A SubscribeURL off SNS's hosts is never fetched, signed or not.
    const elsewhere = sns.signed({ ...subscriptionEnvelope, SubscribeURL: 'https://attacker.example/?Action=ConfirmSubscription' });
    const refused = await post('/v1/sources/ses', JSON.stringify(elsewhere));
    expect(refused.statusCode).toBe(400);
    expect(refused.json().errors[0]).toMatchObject({ path: 'SubscribeURL' });
    expect(sns.confirmations).toHaveLength(1);
  });

  it("stores an SES hard bounce as the developer's email.bounced, signals the journey, and shows it in the journey API, once however often SNS delivers it", async () => {
    const first = await sesDelivery('sns-bounce-1', bounce);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ accepted: 1, duplicates: 0, unmatched: 0 });
    expect(await stored('ses:sns-bounce-1')).toEqual([
      {
        id: 'ses:sns-bounce-1:0',
        type: 'email.bounced',
        developer_id: 'dev_jane',
        properties: { provider: 'ses', bounceType: 'hard', reason: 'General: smtp; 550 5.1.1 <jane@example.com>... User' },
      },
    ]);
    expect(await signalled('ses:sns-bounce-1:0')).toBe(true);
    expect((await sesDelivery('sns-bounce-1', bounce)).json()).toEqual({ accepted: 0, duplicates: 1, unmatched: 0 });
    const journey = await t.app.inject({ method: 'GET', url: '/v1/developers/dev_jane/journey', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(journey.json().emailSuppression).toEqual({
      reason: 'hard_bounce',
      at: '2016-01-27T14:59:38.237Z',
      provider: 'ses',
      eventId: 'ses:sns-bounce-1:0',
      summary: 'email does not reach them: hard bounce on 2016-01-27',
    });
  });

  it('stores a complaint (SignatureVersion 2), acknowledges a delivery, and stores a soft bounce without signalling it', async () => {
    expect((await sesDelivery('sns-complaint-1', complaint, { version: '2' })).json()).toEqual({ accepted: 1, duplicates: 0, unmatched: 0 });
    expect(await stored('ses:sns-complaint-1')).toEqual([
      { id: 'ses:sns-complaint-1:0', type: 'email.complained', developer_id: 'dev_richard', properties: { provider: 'ses', feedbackType: 'abuse' } },
    ]);
    expect(await signalled('ses:sns-complaint-1:0')).toBe(true);
    expect((await sesDelivery('sns-delivery-1', delivery)).json()).toEqual({ accepted: 0, duplicates: 0, unmatched: 0 });
    expect(await stored('ses:sns-delivery-1')).toEqual([]);
    const transient = structuredClone(bounce);
    transient.bounce.bounceType = 'Transient';
    transient.bounce.bounceSubType = 'MailboxFull';
    transient.bounce.bouncedRecipients[0].emailAddress = 'mary@example.com';
    expect((await sesDelivery('sns-soft-1', transient)).json()).toEqual({ accepted: 1, duplicates: 0, unmatched: 0 });
    expect((await stored('ses:sns-soft-1'))[0]).toMatchObject({ developer_id: 'dev_mary', properties: { bounceType: 'soft' } });
    expect(await signalled('ses:sns-soft-1:0')).toBe(false);
  });

  it("finds the developer through Onramp's X-Onramp-Message-Id header first, and counts a recipient it does not know as unmatched", async () => {
    const messageId = `<${Buffer.from('dev_nudged/first-call-help#1').toString('base64url')}@onramp>`;
    await t.db.pool.query(
      `INSERT INTO emails (id, developer_id, rule_id, rule_version, template, to_address, subject, text, html, transport, status, message_id)
       VALUES ('dev_nudged/first-call-help#1', 'dev_nudged', 'first-call-help', 1, 'first-call-help', 'old-address@example.com', 's', 't', 'h', 'smtp', 'sent', $1)`,
      [messageId],
    );
    const ours = structuredClone(bounce);
    ours.bounce.bouncedRecipients[0].emailAddress = 'old-address@example.com';
    ours.mail.headers.push({ name: 'X-Onramp-Message-Id', value: messageId });
    expect((await sesDelivery('sns-ours-1', ours)).json()).toEqual({ accepted: 1, duplicates: 0, unmatched: 0 });
    expect((await stored('ses:sns-ours-1'))[0]).toMatchObject({ developer_id: 'dev_nudged', properties: { messageId } });
    const stranger = structuredClone(bounce);
    stranger.bounce.bouncedRecipients[0].emailAddress = 'nobody@example.com';
    expect((await sesDelivery('sns-stranger-1', stranger)).json()).toEqual({ accepted: 0, duplicates: 0, unmatched: 1 });
    expect(await stored('ses:sns-stranger-1')).toEqual([]);
  });

  it('refuses a forged, tampered or unsigned SNS message, a certificate off SNS hosts and another topic, storing nothing', async () => {
    const tampered = await sesDelivery('sns-forged-1', bounce, { tamper: (raw) => raw.replace('Permanent', 'Transient') });
    expect(tampered.statusCode).toBe(403);
    expect(tampered.json().errors[0]).toMatchObject({ path: 'Signature', message: expect.stringMatching(/signature is invalid/) });
    const signed = sns.signed({ ...notificationEnvelope, MessageId: 'sns-forged-2', Message: JSON.stringify(bounce) });
    const offHost = await post('/v1/sources/ses', JSON.stringify({ ...signed, SigningCertURL: 'https://attacker.example/SimpleNotificationService-x.pem' }));
    expect(offHost.statusCode).toBe(403);
    expect(offHost.json().errors[0].message).toMatch(/invalid domain/);
    const unsigned = await post('/v1/sources/ses', JSON.stringify({ ...notificationEnvelope, MessageId: 'sns-forged-3', Message: JSON.stringify(bounce), Signature: undefined }));
    expect(unsigned.statusCode).toBe(400);
    expect(unsigned.json().errors[0]).toMatchObject({ path: 'Signature' });
    const otherTopic = await sesDelivery('sns-forged-4', bounce, { app: () => restricted });
    expect(otherTopic.statusCode).toBe(403);
    expect(otherTopic.json().errors[0]).toMatchObject({ path: 'TopicArn' });
    for (const id of ['sns-forged-1', 'sns-forged-2', 'sns-forged-3']) expect(await stored(`ses:${id}`)).toEqual([]);
    const notJson = await post('/v1/sources/ses', 'not json');
    expect(notJson.statusCode).toBe(400);
  });

  it("verifies SendGrid's signed batch: a hard bounce and a spam report are stored, a blocked bounce is soft, other events are skipped; a resent batch is duplicates", async () => {
    const first = await sendgrid(sendgridEvents);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ accepted: 3, duplicates: 0, unmatched: 0 });
    expect((await stored('sendgrid:')).map((e) => [e.id, e.type, e.developer_id, e.properties.bounceType ?? null])).toEqual([
      ['sendgrid:37nvH5QBz858KGVYCM4uOA==', 'email.complained', 'dev_richard', null],
      ['sendgrid:6g4ZI7SA-xmRDv57GoPIPw==', 'email.bounced', 'dev_jane', 'hard'],
      ['sendgrid:rWVYmVk90MjZJ9iohOBa3w==', 'email.bounced', 'dev_mary', 'soft'],
    ]);
    expect((await sendgrid(sendgridEvents)).json()).toEqual({ accepted: 0, duplicates: 3, unmatched: 0 });
  });

  it('refuses a SendGrid batch signed with another key, tampered with, unsigned or without a configured key; and one whose bounce it cannot read', async () => {
    const bounceOnly = [{ ...sendgridEvents[1], sg_event_id: 'forged-1' }];
    expect((await sendgrid(bounceOnly, { key: otherKey })).statusCode).toBe(401);
    expect((await sendgrid(bounceOnly, { tamper: (raw) => raw.replace('jane@', 'mary@') })).statusCode).toBe(401);
    const unsigned = await t.app.inject({ method: 'POST', url: '/v1/sources/sendgrid', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(bounceOnly) });
    expect(unsigned.statusCode).toBe(401);
    const noKey = await sendgrid(bounceOnly, { app: () => unconfigured });
    expect(noKey.statusCode).toBe(401);
    expect(noKey.json().errors[0].message).toMatch(/ONRAMP_SENDGRID_WEBHOOK_PUBLIC_KEY/);
    expect(await stored('sendgrid:forged-1')).toEqual([]);
    const unreadable = await sendgrid([{ ...sendgridEvents[1], sg_event_id: 'bad-1', email: undefined }]);
    expect(unreadable.statusCode).toBe(400);
    expect(unreadable.json().errors[0]).toMatchObject({ path: '[0].email' });
    expect(await stored('sendgrid:bad-1')).toEqual([]);
  });

  it('is counted in GET /v1/sources', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/v1/sources', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const bySource = Object.fromEntries((response.json().sources as { source: string }[]).map((s) => [s.source, s]));
    expect(bySource.ses).toMatchObject({ accepted: 4, duplicates: 1 });
    expect(bySource.sendgrid).toMatchObject({ accepted: 3, duplicates: 3, lastError: { message: expect.stringMatching(/^400 \[0\]\.email/) } });
  });
});
