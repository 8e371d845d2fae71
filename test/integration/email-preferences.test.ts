import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNudgeActivities } from '../../src/activities/nudge-activities.ts';
import { preferencesUrl, unsubscribeUrl } from '../../src/mail/unsubscribe-token.ts';
import { rulesInForceCache } from '../../src/rules/rules-in-force.ts';
import { launchChromium } from '../support/chromium.ts';
import { attributes } from '../support/html-attributes.ts';
import { PUBLIC_URL, SIGNING_SECRET, testNudgeDeps } from '../support/nudge-deps.ts';
import { sendDecision } from '../support/send-decision.ts';
import { EmailTemplates } from '../../src/mail/email-templates.ts';
import { TemplatesInForceCache } from '../../src/mail/templates-in-force.ts';
import { shippedFunnelInForce } from '../support/shipped-funnel.ts';
import { signupWithKey, type SignupProfile } from '../support/signup-events.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

const keys = { ingest: 'ingest-key-0123456789abcdef', admin: 'admin-key-0123456789abcdef' };
const artifacts = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

describe.each(databaseBackends())('branded emails and the preference centre (%s)', (backend) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(backend, { keys, signingSecret: SIGNING_SECRET });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const signUp = async (id: string, profile: Partial<SignupProfile> = {}) => {
    const posted = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${keys.ingest}` },
      payload: { events: signupWithKey(id, new Date().toISOString(), { accountType: 'individual', acquisitionChannel: 'organic_search', ...profile }) },
    });
    expect(posted.statusCode, posted.body).toBe(202);
  };

  /** The nudge activity sending `template` to the developer (to the local outbox, the emails table); its email row and decisions. */
  async function send(id: string, template: string, n = 1) {
    const activities = createNudgeActivities({
      ...testNudgeDeps(t.db.pool),
      pool: t.db.pool,
      rulesInForce: rulesInForceCache(t.db.pool, 0),
      funnelInForce: shippedFunnelInForce,
      templatesInForce: () => new TemplatesInForceCache(t.db.pool, testNudgeDeps(t.db.pool).templatesDir, 0).read(),
    });
    const decision = sendDecision(id, template, { n });
    const burst = template === 'authentication-help' ? { kind: 'unauthorized_burst', status: 401, count: 6 } : undefined;
    await activities.sendNudge({ type: 'sendNudge', developerId: id, decision, template, stage: burst ? null : 'credential_provisioned', ...(burst ? { burst } : {}) });
    const [email] = (
      await t.db.pool.query<{ html: string; text: string; subject: string; links: string[] }>('SELECT html, text, subject, links FROM emails WHERE id = $1', [
        `${id}/${template}:${n}`,
      ])
    ).rows;
    const decisions = (
      await t.db.pool.query<{ outcome: string; reason: string | null }>('SELECT outcome, reason FROM nudge_decisions WHERE decision_key = $1', [decision.decisionKey])
    ).rows;
    return { email, decisions };
  }

  const page = (url: string, method: 'GET' | 'POST' = 'GET', payload?: string, accept = 'text/html') =>
    t.app.inject({
      method,
      url,
      headers: { accept, ...(payload === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }) },
      ...(payload === undefined ? {} : { payload }),
    });
  const pathOf = (url: string) => {
    const u = new URL(url);
    return u.pathname + u.search;
  };
  const consents = async (id: string) =>
    (
      await t.db.pool.query<{ properties: Record<string, unknown> }>(
        `SELECT properties FROM events WHERE developer_id = $1 AND type = 'consent.updated' ORDER BY occurred_at, id`,
        [id],
      )
    ).rows.map((r) => r.properties);

  it('greets by name in the brand layout, with the call to action as a tracked button and the footer links untracked', async () => {
    const id = `${backend}_ada`;
    await signUp(id, { name: 'Ada Lovelace' });
    const { email } = await send(id, 'first-call-help');
    expect(email!.subject).toBe('Make your first API call in five minutes');
    expect(email!.text).toMatch(/^Hi Ada,\n/);
    expect(email!.html).toContain('Hi Ada,');
    // The button goes through the click redirect to the quickstart; preferences and unsubscribe stay as they are.
    expect(email!.links).toEqual(['https://docs.example.com/quickstart']);
    const hrefs = attributes(email!.html, 'a', 'href');
    expect(hrefs).toContain(preferencesUrl(PUBLIC_URL, SIGNING_SECRET, id));
    expect(hrefs).toContain(unsubscribeUrl(PUBLIC_URL, SIGNING_SECRET, id));
    expect(hrefs.filter((h) => h.startsWith(`${PUBLIC_URL}/v1/t/c/`))).toHaveLength(1);
    expect(email!.text).toContain('Open the quickstart: https://docs.example.com/quickstart');
    expect(email!.text).toContain(`Email preferences: ${preferencesUrl(PUBLIC_URL, SIGNING_SECRET, id)}`);
    // No name: a greeting that reads well anyway.
    const anonymous = `${backend}_anonymous`;
    await signUp(anonymous);
    expect((await send(anonymous, 'first-call-help')).email!.text).toMatch(/^Hi there,\n/);
  });

  it("sends the translation in the developer's locale (its language's when the region has none), the default otherwise", async () => {
    const id = `${backend}_chloe`;
    await signUp(id, { name: 'Chloé Martin', locale: 'fr-ca' });
    const { rows } = await t.db.pool.query<{ locale: string }>('SELECT locale FROM developers WHERE id = $1', [id]);
    expect(rows[0]!.locale).toBe('fr-CA');
    const { email } = await send(id, 'first-call-help');
    expect(email!.subject).toBe("Votre premier appel d'API en cinq minutes");
    expect(email!.text).toMatch(/^Bonjour Chloé,\n/);
    expect(email!.links).toEqual(['https://docs.example.com/fr/quickstart']);
    expect(email!.html).toContain('Se désabonner');
    expect(email!.html).toMatch(/<html[^>]* lang="fr"/);
    // A template without a French version: the default, in English.
    expect((await send(id, 'explore-the-api')).email!.text).toMatch(/^Hi Chloé,\n/);
  });

  it('refuses a signup with a locale that is no language tag, naming the field, and stores nothing', async () => {
    const posted = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${keys.ingest}` },
      payload: {
        events: signupWithKey(`${backend}_bad_locale`, new Date().toISOString(), {
          accountType: 'individual',
          acquisitionChannel: 'direct',
          locale: 'not a locale!',
        } as SignupProfile),
      },
    });
    expect(posted.statusCode).toBe(400);
    expect(JSON.stringify(posted.json())).toContain('properties.locale');
    expect((await t.db.pool.query('SELECT 1 FROM events WHERE developer_id = $1', [`${backend}_bad_locale`])).rowCount).toBe(0);
  });

  it('lets a developer turn one category off in the preference centre: those nudges are skipped, the others still sent', async () => {
    const id = `${backend}_prefs`;
    await signUp(id);
    const link = pathOf(preferencesUrl(PUBLIC_URL, SIGNING_SECRET, id));
    const form = await page(link);
    expect(form.statusCode).toBe(200);
    expect(form.headers['content-type']).toContain('text/html');
    expect(attributes(form.body, 'input', 'checked')).toHaveLength(3); // all email, and both categories
    const submission = attributes(form.body, 'input', 'value').find((v) => /^[0-9a-f-]{36}$/.test(v))!;

    const saved = await page(link, 'POST', `submission=${submission}&all=on&category=onboarding_tips`);
    expect(saved.statusCode, saved.body).toBe(200);
    expect(saved.body).toContain('Saved.');
    expect(await consents(id)).toEqual([{ email: 'granted', categories: { onboarding_tips: 'granted', error_help: 'revoked' } }]);
    // The same form submitted again (a reload, a double click) is one choice, recorded once.
    expect((await page(link, 'POST', `submission=${submission}&all=on&category=onboarding_tips`)).statusCode).toBe(200);
    expect(await consents(id)).toHaveLength(1);

    const errorHelp = await send(id, 'authentication-help');
    expect(errorHelp.email).toBeUndefined();
    expect(errorHelp.decisions).toEqual([{ outcome: 'skipped', reason: 'category_opted_out: error_help' }]);
    const tip = await send(id, 'first-call-help');
    expect(tip.email).toBeDefined();

    // The page shows the choice as stored.
    const again = await page(link);
    expect(again.body).toMatch(/value="onboarding_tips" checked/);
    expect(again.body).not.toMatch(/value="error_help" checked/);
  });

  it('refuses a forged link, an unknown category and a form without its submission id, storing nothing', async () => {
    const id = `${backend}_prefs_bad`;
    await signUp(id);
    const link = pathOf(preferencesUrl(PUBLIC_URL, SIGNING_SECRET, id));
    const forged = await page(`/v1/preferences?developer=${id}&token=forged`);
    expect(forged.statusCode).toBe(400);
    expect(forged.json().errors[0].path).toBe('token');
    const unknown = await page(link, 'POST', `submission=${crypto.randomUUID()}&all=on&category=newsletters`);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors[0]).toMatchObject({ path: 'category', message: expect.stringContaining('newsletters') });
    const noSubmission = await page(link, 'POST', 'all=on');
    expect(noSubmission.statusCode).toBe(400);
    expect(JSON.stringify(noSubmission.json())).toContain('submission');
    expect(await consents(id)).toEqual([]);
  });

  it("records one 'was this helpful?' answer per email (a scanner's follow asks again with buttons), reported per template and rule", async () => {
    const id = `${backend}_feedback`;
    await signUp(id);
    const { email } = await send(id, 'explore-the-api');
    const [yes, no] = attributes(email!.html, 'a', 'href').filter((h) => h.includes('/v1/feedback/'));
    expect(yes).toMatch(/\?answer=yes$/);
    expect(no).toMatch(/\?answer=no$/);
    expect(email!.text).toContain(`Was this email helpful? Yes: ${yes} · No: ${no}`);
    const feedback = async () =>
      (await t.db.pool.query<{ properties: Record<string, unknown> }>(`SELECT properties FROM events WHERE developer_id = $1 AND type = 'email.feedback'`, [id])).rows.map(
        (r) => r.properties,
      );
    const follow = (url: string, userAgent: string) => t.app.inject({ method: 'GET', url: pathOf(url), headers: { 'user-agent': userAgent } });

    // A link scanner follows both links: nothing recorded, the page asks with buttons.
    const scanned = await follow(no!, 'Mozilla/5.0 (compatible; Barracuda Sentinel)');
    expect(scanned.statusCode).toBe(200);
    expect(scanned.body).toContain('<button type="submit" name="answer" value="yes">');
    expect(await feedback()).toEqual([]);
    // The reader presses Yes on that page: recorded, with the email's Message-ID.
    const pressed = await t.app.inject({
      method: 'POST',
      url: pathOf(yes!).replace(/\?.*/, ''),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'answer=yes',
    });
    expect(pressed.statusCode, pressed.body).toBe(200);
    expect(pressed.body).toContain('Glad it helped.');
    expect(await feedback()).toEqual([{ messageId: expect.stringMatching(/@onramp>$/), helpful: true }]);
    // Another click later is a duplicate: one answer per email, the first.
    await follow(no!, 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0');
    expect(await feedback()).toHaveLength(1);
    // A forged token: 400, nothing recorded.
    expect((await t.app.inject({ method: 'GET', url: '/v1/feedback/abc.def?answer=yes' })).statusCode).toBe(400);

    const report = await t.app.inject({ method: 'GET', url: '/v1/metrics/emails', headers: { authorization: `Bearer ${keys.admin}` } });
    expect(report.statusCode, report.body).toBe(200);
    const template = report.json().templates.find((r: { template: string }) => r.template === 'explore-the-api');
    // (Another test of this file sent explore-the-api too, with no answer.)
    expect(template).toMatchObject({ sent: 2, helpful: { yes: 1, no: 0, rate: 1 } });
    expect(report.json().rules).toContainEqual(expect.objectContaining({ ruleId: 'explore-the-api', template: 'explore-the-api', sent: 2, helpful: { yes: 1, no: 0, rate: 1 } }));
  });

  it('answers a browser unsubscribing with a page in the brand, an API client with JSON', async () => {
    const id = `${backend}_unsub_page`;
    await signUp(id);
    const link = pathOf(unsubscribeUrl(PUBLIC_URL, SIGNING_SECRET, id));
    const confirm = await page(link);
    expect(confirm.body).toContain('Stop all onboarding emails from Onramp?');
    const done = await page(link, 'POST', 'List-Unsubscribe=One-Click');
    expect(done.headers['content-type']).toContain('text/html');
    expect(done.body).toContain('You are unsubscribed');
    expect(attributes(done.body, 'a', 'href')).toContain(pathOf(preferencesUrl(PUBLIC_URL, SIGNING_SECRET, id)));
    expect((await page(link, 'POST', 'List-Unsubscribe=One-Click', 'application/json')).json()).toEqual({ unsubscribed: true });
    // The preference centre shows all email off, the categories kept as they were but inactive.
    const form = await page(pathOf(preferencesUrl(PUBLIC_URL, SIGNING_SECRET, id)));
    expect(form.body).toMatch(/name="all" value="on" onchange/);
    expect(attributes(form.body, 'input', 'disabled')).toHaveLength(2);
  });
});

describe('rendered emails and pages in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestApp(databaseBackends()[0]!, { keys, signingSecret: SIGNING_SECRET });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('lays every shipped template out without overflow at desktop and phone widths, the button visible', async () => {
    mkdirSync(artifacts, { recursive: true });
    const templates = new EmailTemplates(testNudgeDeps(t.db.pool).templatesDir);
    const { renderNudgeEmail } = await import('../../src/mail/nudge-email.ts');
    for (const name of [...templates.names()].sort()) {
      const email = await renderNudgeEmail(
        templates,
        {
          recipient: { id: 'dev_1', name: 'Ada Lovelace', locale: null, accountType: 'individual', channel: 'direct' },
          template: name,
          stage: 'credential_provisioned',
          stageLabel: 'Credential provisioned',
          burst: { endpoint: '/v1/charges', status: 400, count: 6 },
          emailId: `dev_1/${name}:1`,
        },
        { publicUrl: PUBLIC_URL, signingSecret: SIGNING_SECRET, docsUrl: 'https://docs.example.com' },
      );
      for (const width of [800, 390]) {
        const tab = await browser.newPage({ viewport: { width, height: 900 } });
        await tab.setContent(email.html);
        const layout = await tab.evaluate(() => {
          const { document, getComputedStyle } = globalThis as any;
          const button = [...document.querySelectorAll('a')].find((a: any) => getComputedStyle(a).display === 'inline-block');
          const box = button?.getBoundingClientRect();
          return {
            scrollWidth: document.scrollingElement.scrollWidth,
            font: getComputedStyle(document.querySelector('td div')).fontFamily,
            button: box ? { right: box.right, height: box.height } : null,
          };
        });
        expect(layout.scrollWidth, `${name} at ${width}px`).toBeLessThanOrEqual(width);
        expect(layout.font).not.toMatch(/^(serif|Times)/);
        expect(layout.button, `${name} has a call-to-action button`).not.toBeNull();
        expect(layout.button!.right).toBeLessThanOrEqual(width);
        if (name === 'first-call-help') await tab.screenshot({ path: `${artifacts}email-${name}-${width}.png`, fullPage: true });
        await tab.close();
      }
    }
  });

  it('previews a template on the emails page, for a developer, at phone width, with the report and no problems', async () => {
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${keys.ingest}` },
      payload: { events: signupWithKey('page_chloe', new Date().toISOString(), { accountType: 'individual', acquisitionChannel: 'direct', name: 'Chloé Martin', locale: 'fr' }) },
    });
    const tab = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await tab.goto(`${url}/dashboard/emails?template=first-call-help&developer=page_chloe`);
    await tab.fill('#key', keys.admin);
    await tab.click('#load');
    await tab.waitForFunction(() => (globalThis as any).document.body.dataset.rendered === 'first-call-help');
    expect(await tab.textContent('#problems')).toContain('Every template can be sent.');
    expect(await tab.textContent('#headers')).toContain("Votre premier appel d'API en cinq minutes");
    expect(await tab.frameLocator('#frame').locator('body').textContent()).toContain('Bonjour Chloé,');
    expect(await tab.locator('#templates tbody tr').count()).toBe(9);
    await tab.screenshot({ path: `${artifacts}emails-page.png`, fullPage: true });
    // Another template from the list, at phone width: the frame is 390 px and the page has the address to share.
    await tab.selectOption('#width', '390');
    await tab.click('[data-template="explore-the-api"]');
    await tab.waitForFunction(() => (globalThis as any).document.body.dataset.rendered === 'explore-the-api');
    expect(await tab.getAttribute('#frame', 'width')).toBe('390');
    expect(new URL(tab.url()).searchParams.get('template')).toBe('explore-the-api');
    await tab.setViewportSize({ width: 390, height: 900 });
    expect(await tab.evaluate(() => (globalThis as any).document.scrollingElement.scrollWidth)).toBeLessThanOrEqual(390);
    await tab.screenshot({ path: `${artifacts}emails-page-390.png`, fullPage: true });
    await tab.close();
  });

  it('shows the preference centre usable on a phone', async () => {
    const id = 'chromium_prefs';
    await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${keys.ingest}` },
      payload: { events: signupWithKey(id, new Date().toISOString(), { accountType: 'individual', acquisitionChannel: 'direct' }) },
    });
    const link = new URL(preferencesUrl(PUBLIC_URL, SIGNING_SECRET, id));
    const html = (await t.app.inject({ method: 'GET', url: link.pathname + link.search })).body;
    const tab = await browser.newPage({ viewport: { width: 390, height: 800 } });
    await tab.setContent(html);
    expect(await tab.evaluate(() => (globalThis as any).document.scrollingElement.scrollWidth)).toBeLessThanOrEqual(390);
    // Turning all email off disables the category boxes (they would not count).
    await tab.locator('input[name=all]').uncheck();
    expect(await tab.locator('input[name=category]:disabled').count()).toBe(2);
    await tab.locator('input[name=all]').check();
    await tab.screenshot({ path: `${artifacts}preference-centre-390.png`, fullPage: true });
    await tab.close();
  });
});
