import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNudgeActivities } from '../../src/activities/nudge-activities.ts';
import { smtpMailer, type Mailer } from '../../src/mail/mailer.ts';
import type { EmailTracking } from '../../src/config.ts';
import { preferencesUrl, unsubscribeUrl } from '../../src/mail/unsubscribe-token.ts';
import { renderNudgeEmail } from '../../src/mail/nudge-email.ts';
import { feedbackUrls } from '../../src/mail/tracking/feedback-token.ts';
import { rulesInForceCache } from '../../src/rules/rules-in-force.ts';
import { attributes } from '../support/html-attributes.ts';
import { PUBLIC_URL, SIGNING_SECRET, testNudgeDeps } from '../support/nudge-deps.ts';
import { EmailTemplates } from '../../src/mail/email-templates.ts';
import { TemplatesInForceCache } from '../../src/mail/templates-in-force.ts';
import { shippedFunnelInForce } from '../support/shipped-funnel.ts';
import { sendDecision } from '../support/send-decision.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';
import { signupWithKey } from '../support/signup-events.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

const keys = { ingest: 'ingest-key-0123456789abcdef', admin: 'admin-key-0123456789abcdef' };
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.0';
/** What Apple Mail Privacy Protection's proxies send. */
const APPLE_PROXY = 'Mozilla/5.0';

let smtp: SmtpSink;

beforeAll(async () => {
  smtp = await startSmtpSink();
});
afterAll(() => smtp?.close());

describe.each(databaseBackends())('email open and click tracking (%s)', (backend) => {
  let t: TestApp;
  let mailer: Mailer;

  beforeAll(async () => {
    t = await startTestApp(backend, { keys, signingSecret: SIGNING_SECRET });
    mailer = smtpMailer(`smtp://127.0.0.1:${smtp.port}`);
  }, 60_000);
  afterAll(async () => {
    mailer?.close();
    await t?.close();
  });

  /** A signed-up developer sent the first-call-help nudge through nodemailer; the email as received and as stored. */
  async function sendNudge(id: string, tracking: EmailTracking = { html: true, text: false }) {
    const posted = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${keys.ingest}` },
      payload: { events: signupWithKey(id, new Date().toISOString(), { accountType: 'individual', acquisitionChannel: 'organic_search' }) },
    });
    expect(posted.statusCode, posted.body).toBe(202);
    const activities = createNudgeActivities({
      ...testNudgeDeps(t.db.pool, { mailer, tracking }),
      pool: t.db.pool,
      rulesInForce: rulesInForceCache(t.db.pool, 0),
      funnelInForce: shippedFunnelInForce,
      templatesInForce: () => new TemplatesInForceCache(t.db.pool, testNudgeDeps(t.db.pool).templatesDir, 0).read(),
    });
    await activities.sendNudge({ type: 'sendNudge', developerId: id, decision: sendDecision(id, 'first-call-help'), template: 'first-call-help', stage: null });
    const mail = smtp.received.find((m) => (m.to as { text: string }).text === `${id}@example.com`)!;
    const [stored] = (await t.db.pool.query<{ id: string; html: string; text: string; links: string[] }>('SELECT id, html, text, links FROM emails WHERE developer_id = $1', [id]))
      .rows;
    return { mail, stored: stored!, activities };
  }

  const hrefs = (html: string) => attributes(html, 'a', 'href');
  const pixelOf = (html: string) => new URL(attributes(html, 'img', 'src')[0]!);
  const get = (url: URL | string, userAgent = BROWSER) => t.app.inject({ method: 'GET', url: typeof url === 'string' ? url : url.pathname, headers: { 'user-agent': userAgent } });
  const events = async (id: string, type: string) =>
    (await t.db.pool.query<{ id: string; properties: Record<string, unknown> }>('SELECT id, properties FROM events WHERE developer_id = $1 AND type = $2 ORDER BY id', [id, type]))
      .rows;
  const signals = async (id: string, type: string) =>
    (await t.db.pool.query(`SELECT 1 FROM outbox_signals WHERE developer_id = $1 AND payload->>'type' = $2`, [id, type])).rowCount;
  /** The journey's `event.seen` of a type: what event rules wait for. */
  const firstSeen = async (id: string, type: string) =>
    (await t.db.pool.query(`SELECT 1 FROM outbox_signals WHERE developer_id = $1 AND payload->>'type' = 'event.seen' AND payload->>'eventType' = $2`, [id, type])).rowCount;
  async function engagementSegments() {
    const response = await t.app.inject({ method: 'GET', url: '/v1/metrics/engagement', headers: { authorization: `Bearer ${keys.admin}` } });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().overall.segments as { high: number; medium: number; none: number; new: number };
  }

  it('sends the HTML with a pixel and every link but the feedback, preference and unsubscribe links tracked, as stored; the text part untouched', async () => {
    const id = `${backend}_tracked`;
    const { mail, stored } = await sendNudge(id);
    expect(mail.html).toBe(stored.html);
    expect(mail.text).toBe(stored.text);
    const links = hrefs(stored.html);
    expect(links).toHaveLength(5);
    expect(links[0]).toMatch(new RegExp(`^${PUBLIC_URL}/v1/t/c/[\\w-]+\\.[\\w-]+$`));
    expect(links.slice(1, 3)).toEqual(Object.values(feedbackUrls(PUBLIC_URL, SIGNING_SECRET, { developerId: id, emailId: `${id}/first-call-help:1` })));
    expect(links[3]).toBe(preferencesUrl(PUBLIC_URL, SIGNING_SECRET, id));
    expect(links[4]).toBe(unsubscribeUrl(PUBLIC_URL, SIGNING_SECRET, id));
    expect(stored.links).toEqual(['https://docs.example.com/quickstart']);
    expect(pixelOf(stored.html).href).toMatch(new RegExp(`^${PUBLIC_URL}/v1/t/o/`));
    expect(stored.html).toMatch(/<img [^>]+><\/body>/);
    expect(stored.text).toContain('https://docs.example.com/quickstart');
    expect(stored.text).not.toContain('/v1/t/');
  });

  it('records one email.opened however often the pixel loads, and the journey hears it', async () => {
    const id = `${backend}_opened`;
    const { stored } = await sendNudge(id);
    for (let i = 0; i < 2; i++) {
      const pixel = await get(pixelOf(stored.html));
      expect(pixel.statusCode).toBe(200);
      expect(pixel.headers['content-type']).toBe('image/gif');
      expect(pixel.rawPayload.subarray(0, 6).toString()).toBe('GIF89a');
    }
    const opened = await events(id, 'email.opened');
    expect(opened).toHaveLength(1);
    expect(opened[0]!.properties).toEqual({ messageId: expect.stringMatching(/@onramp>$/) });
    expect(await signals(id, 'email.opened')).toBe(1);
  });

  it('redirects a click to the link the template rendered and records one email.clicked per link', async () => {
    const id = `${backend}_clicked`;
    const { stored } = await sendNudge(id);
    await get(pixelOf(stored.html));
    const tracked = new URL(hrefs(stored.html)[0]!);
    for (let i = 0; i < 2; i++) {
      const click = await get(tracked);
      expect(click.statusCode).toBe(302);
      expect(click.headers.location).toBe('https://docs.example.com/quickstart');
    }
    const clicked = await events(id, 'email.clicked');
    expect(clicked).toHaveLength(1);
    expect(clicked[0]!.properties).toMatchObject({ link: 0 });
    expect(clicked[0]!.properties.machine).toBeUndefined();
    expect(await signals(id, 'email.clicked')).toBe(1);
  });

  it('records nothing and redirects nowhere for a forged or tampered token', async () => {
    const id = `${backend}_forged`;
    const { stored } = await sendNudge(id);
    const click = hrefs(stored.html)[0]!.slice(PUBLIC_URL.length);
    const [payload, signature] = click.slice('/v1/t/c/'.length).split('.');
    // The same email's payload with another link index, signed with the real signature: tampered.
    const otherLink = Buffer.from(JSON.stringify([id, stored.id, 1])).toString('base64url');
    const pixel = pixelOf(stored.html).pathname;
    for (const bad of [
      `/v1/t/c/${otherLink}.${signature}`,
      `/v1/t/c/${payload}.${'A'.repeat(signature!.length)}`,
      '/v1/t/c/forged',
      `${pixel.slice(0, -2)}xx`.replace('/o/', '/c/'),
    ]) {
      const response = await get(bad);
      expect(response.statusCode, bad).toBe(400);
      expect(response.headers.location).toBeUndefined();
    }
    const badPixel = await get(`${pixel.slice(0, -2)}xx`);
    expect(badPixel.statusCode).toBe(200);
    expect(badPixel.headers['content-type']).toBe('image/gif');
    // A genuine open token is no click token.
    expect((await get(pixel.replace('/o/', '/c/'))).statusCode).toBe(400);
    expect(await events(id, 'email.opened')).toEqual([]);
    expect(await events(id, 'email.clicked')).toEqual([]);
  });

  it('flags a proxy open within seconds of the send and a click before any open as machine: stored, not heard, not counted', async () => {
    const id = `${backend}_machine`;
    const before = await engagementSegments();
    const { stored } = await sendNudge(id);
    await get(pixelOf(stored.html), APPLE_PROXY);
    await get(new URL(hrefs(stored.html)[0]!));
    expect((await events(id, 'email.opened')).map((e) => e.properties.machine)).toEqual([true]);
    expect((await events(id, 'email.clicked')).map((e) => e.properties.machine)).toEqual([true]);
    expect(await signals(id, 'email.opened')).toBe(0);
    expect(await signals(id, 'email.clicked')).toBe(0);
    expect(await firstSeen(id, 'email.opened')).toBe(0);
    const after = await engagementSegments();
    expect(after.medium).toBe(before.medium);
    expect(after.high).toBe(before.high);

    // The reader's own open later is recorded and counted: the proxy's did not take its place.
    await get(pixelOf(stored.html), BROWSER);
    expect((await events(id, 'email.opened')).map((e) => e.properties.machine ?? false)).toEqual([false, true]);
    expect(await signals(id, 'email.opened')).toBe(1);
    expect(await firstSeen(id, 'email.opened')).toBe(1);
    expect((await engagementSegments()).medium).toBe(before.medium + 1);
  });

  it('leaves the HTML as the template rendered it when tracking is off, and tracks the text part only when asked', async () => {
    const off = await sendNudge(`${backend}_untracked`, { html: false, text: false });
    const rendered = await renderNudgeEmail(
      new EmailTemplates(testNudgeDeps(t.db.pool).templatesDir),
      {
        recipient: { id: `${backend}_untracked`, name: null, locale: null, accountType: 'individual', channel: 'organic_search' },
        template: 'first-call-help',
        stage: 'credential_provisioned',
        stageLabel: 'Credential provisioned',
        emailId: `${backend}_untracked/first-call-help:1`,
      },
      { publicUrl: PUBLIC_URL, signingSecret: SIGNING_SECRET, docsUrl: 'https://docs.example.com' },
    );
    expect(off.stored.html).toBe(rendered.html);
    expect(off.mail.html).toBe(rendered.html);
    expect(off.stored.links).toEqual([]);

    const both = await sendNudge(`${backend}_text_tracked`, { html: true, text: true });
    expect(both.stored.text).not.toContain('https://docs.example.com/quickstart');
    const textLink = new RegExp(`${PUBLIC_URL}/v1/t/c/\\S+`).exec(both.stored.text)![0];
    expect((await get(textLink.slice(PUBLIC_URL.length))).headers.location).toBe('https://docs.example.com/quickstart');
    // The unsubscribe link stays the one-click link in both parts.
    expect(both.stored.text).toContain(unsubscribeUrl(PUBLIC_URL, SIGNING_SECRET, `${backend}_text_tracked`));
  });

  it('carries its Message-ID in X-Onramp-Message-Id for providers to echo; after a hard bounce the activity sends that developer nothing more', async () => {
    const id = `${backend}_bounced`;
    const { mail, activities } = await sendNudge(id);
    const [{ message_id: messageId }] = (await t.db.pool.query('SELECT message_id FROM emails WHERE developer_id = $1', [id])).rows;
    expect(mail.headers.get('x-onramp-message-id')).toBe(messageId);
    // The relay reports a hard bounce (any source: here posted as the built-in event).
    const bounced = { id: `${id}-bounce`, type: 'email.bounced', developerId: id, occurredAt: new Date().toISOString(), properties: { bounceType: 'hard', messageId } };
    const posted = await t.app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${keys.ingest}` }, payload: { events: [bounced] } });
    expect(posted.statusCode, posted.body).toBe(202);
    // A journey that has not heard of it (its run predates machine version 5) still asks for a send.
    const before = smtp.received.length;
    const decision = sendDecision(id, 'first-call-second', { ruleId: 'first-call-second-nudge' });
    await activities.sendNudge({ type: 'sendNudge', developerId: id, decision, template: 'first-call-second', stage: null });
    expect(smtp.received.length).toBe(before);
    expect((await t.db.pool.query('SELECT id FROM emails WHERE developer_id = $1', [id])).rows).toHaveLength(1);
    const { rows } = await t.db.pool.query('SELECT outcome, reason FROM nudge_decisions WHERE decision_key = $1', [decision.decisionKey]);
    expect(rows).toEqual([{ outcome: 'skipped', reason: `email_suppressed: email does not reach them: hard bounce on ${bounced.occurredAt.slice(0, 10)}` }]);
  });
});
