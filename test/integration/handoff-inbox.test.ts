import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.ts';
import { eventually } from '../support/eventually.ts';
import { ADMIN_KEY, AGENT_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { signupWithKey } from '../support/signup-events.ts';
import { databaseBackends } from '../support/test-databases.ts';

const artifacts = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

/** The agents' inbox page and the queue API behind it, on the dev server (the first database backend). */
describe('the handoffs inbox in headless Chromium', () => {
  let h: OnrampHarness;
  let browser: Browser;
  let url: string;
  const agent = { authorization: `Bearer ${AGENT_KEY}` };
  const backend = databaseBackends()[0]!;

  beforeAll(async () => {
    h = await new OnrampHarness(backend).start();
    url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await h?.stop();
  });

  const read = async (caseId: string) => (await h.app.inject({ method: 'GET', url: `/v1/handoffs/${encodeURIComponent(caseId)}`, headers: agent })).json();
  const act = (caseId: string, body: Record<string, unknown>) =>
    h.app.inject({ method: 'POST', url: `/v1/handoffs/${encodeURIComponent(caseId)}/actions`, headers: agent, payload: body });
  const list = async (query: string) => {
    const response = await h.app.inject({ method: 'GET', url: `/v1/handoffs?${query}`, headers: agent });
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as { handoffs: any[]; nextCursor: string | null };
  };

  /** A developer whose first calls were refused (401s), then a support ticket: a case opened at once. */
  async function escalated(id: string, { errors = 0 } = {}): Promise<string> {
    const t0 = Date.now() - 60_000;
    const at = (ms: number) => new Date(t0 + ms).toISOString();
    const posted = await h.post({
      events: [
        ...signupWithKey(id, at(0), { email: `${id}@example.com`, accountType: 'individual', acquisitionChannel: 'organic_search', timezone: 'UTC' }),
        ...Array.from({ length: errors }, (_, i) => ({
          id: `${id}-r${i}`,
          type: 'api.request',
          occurredAt: at(1000 + i * 1000),
          properties: { apiKey: `key_${id}`, endpoint: '/v1/charges', method: 'POST', status: 401, mode: 'test' },
        })),
        { id: `${id}-t`, type: 'support.ticket_created', developerId: id, occurredAt: at(30_000), properties: { subject: 'my key is refused' } },
      ],
    });
    expect(posted.statusCode, posted.body).toBe(202);
    const caseId = `${id}.h1`;
    await eventually(() => read(caseId), { until: (c) => c.status === 'open', describe: `case ${caseId} open` });
    return caseId;
  }

  it('lists the queue by next deadline, filters it, and pages it with a cursor in that order', async () => {
    const ids = [await escalated('q_a'), await escalated('q_b'), await escalated('q_c')];
    expect((await act(ids[1]!, { action: 'claim', actor: 'ana@example.com' })).statusCode).toBe(200);
    expect((await act(ids[2]!, { action: 'snooze', actor: 'bo@example.com', for: '1h' })).statusCode).toBe(200);

    const queue = await list('status=active&order=due');
    const mine = queue.handoffs.filter((c) => ids.includes(c.id));
    expect(mine.map((c) => c.id).sort()).toEqual([...ids].sort());
    // Ascending by next deadline: the open case's claim SLA, the snooze's end, the claimed case's resolution SLA.
    const dues = queue.handoffs.map((c) => c.summary.sla.dueAt as string);
    expect(dues.every((d) => d !== null)).toBe(true);
    expect([...dues].sort()).toEqual(dues);
    const byId = new Map(mine.map((c) => [c.id, c]));
    expect(byId.get(ids[0]!)!.summary.sla.dueAt).toBe(byId.get(ids[0]!)!.claimDueAt);
    expect(byId.get(ids[1]!)!.summary.sla.dueAt).toBe(byId.get(ids[1]!)!.resolveDueAt);
    expect(byId.get(ids[2]!)!.summary.sla.dueAt).toBe(byId.get(ids[2]!)!.snoozedUntil);

    // A page at a time, in the same order.
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { handoffs: any[]; nextCursor: string | null } = await list(`status=active&order=due&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      paged.push(...page.handoffs.map((c) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(paged).toEqual(queue.handoffs.map((c) => c.id));

    expect((await list('owner=ana@example.com')).handoffs.map((c) => c.id)).toEqual([ids[1]]);
    expect((await list('status=snoozed')).handoffs.map((c) => c.id)).toContain(ids[2]);
    expect((await list('status=open&criterion=support_ticket')).handoffs.map((c) => c.id)).toContain(ids[0]);
    expect((await list('criterion=stall:nothing')).handoffs).toEqual([]);
    expect((await list('breached=true')).handoffs).toEqual([]);
    expect((await list('level=1&breached=false&status=active')).handoffs.length).toBe(queue.handoffs.length);
    // Bad filters name the field.
    for (const [query, path] of [
      ['order=soonest', 'order'],
      ['breached=yes', 'breached'],
      ['level=0', 'level'],
      ['status=closed', 'status'],
    ] as const) {
      const bad = await h.app.inject({ method: 'GET', url: `/v1/handoffs?${query}`, headers: agent });
      expect(bad.statusCode, query).toBe(400);
      expect(JSON.stringify(bad.json().errors), query).toContain(path);
    }
  }, 120_000);

  it('an agent works a case from the page: the queue, the case with its diagnosis, claim, a take-over refused, a note, resolve, and a new case appearing without reload', async () => {
    const caseId = await escalated('inbox_jane', { errors: 6 });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const failures: string[] = [];
    page.on('pageerror', (error) => failures.push(error.message));
    page.on('dialog', (dialog) => void dialog.accept());

    await page.goto(`${url}/dashboard/handoffs`);
    await page.fill('#key', AGENT_KEY);
    await page.fill('#name', 'ana@example.com');
    await page.click('#connect');
    await page.waitForSelector('body[data-loaded="true"]');
    // The Open tab lists the unclaimed cases in the API's queue order.
    const rows = await page.$$eval('#queue tr[data-case]', (trs) => trs.map((tr) => (tr as any).dataset.case));
    expect(rows).toEqual((await list('status=open&order=due')).handoffs.map((c) => c.id));
    // Sorted by the developers' stagnation risk instead: the API's order=risk, kept in the address; each row shows its risk.
    expect(await page.$$eval('#queue th', (ths) => ths.map((th) => th.textContent))).toContain('Risk');
    await page.selectOption('#sort', 'risk');
    await page.waitForFunction(() => new URL((globalThis as any).location.href).searchParams.get('sort') === 'risk');
    const byRisk = (await list('status=open&order=risk')).handoffs;
    await page.waitForFunction(
      (ids) => JSON.stringify([...(globalThis as any).document.querySelectorAll('#queue tr[data-case]')].map((tr: any) => tr.dataset.case)) === JSON.stringify(ids),
      byRisk.map((c) => c.id),
    );
    await page.selectOption('#sort', 'due');

    // The case, whole: the Slack-equivalent context from the same builder.
    await page.click(`#queue tr[data-case="${caseId}"]`);
    await page.waitForSelector(`#case[data-case="${caseId}"]`);
    const whole = await read(caseId);
    expect(await page.textContent('#diagnosis')).toContain(whole.context.diagnosis[0]);
    expect(whole.context.diagnosis[0]).toMatch(/6 × 401/);
    const shown = await page.textContent('#case');
    expect(shown).toContain('i***@example.com'); // masked, as in Slack
    expect(shown).toContain(whole.context.stage.label);
    expect(shown).toContain('support_ticket');
    expect(await page.textContent('#log')).toContain('escalated');
    expect(new URL(page.url()).searchParams.get('case')).toBe(caseId);

    // Claim from the page.
    await page.click('#claim');
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#caseOwner')?.textContent === 'ana@example.com');
    expect((await read(caseId)).owner).toBe('ana@example.com');
    expect(await page.textContent('#log')).toContain('claimed by ana@example.com');

    // Someone else, without takeOver: refused, naming the owner, in the API and on the page.
    const refused = await act(caseId, { action: 'claim', actor: 'bo@example.com' });
    expect(refused.statusCode).toBe(409);
    const other = await browser.newPage();
    await other.goto(`${url}/dashboard/handoffs?case=${encodeURIComponent(caseId)}`); // the Slack button's link; the key is asked once per browser session
    await other.fill('#key', AGENT_KEY);
    await other.fill('#name', 'bo@example.com');
    await other.click('#connect');
    await other.waitForSelector(`#case[data-case="${caseId}"] #takeOver`);
    await other.fill('#noteText', 'I had a look too');
    await other.click('#note');
    await other.waitForSelector('#problem:not([hidden])');
    expect(await other.textContent('#problem')).toContain('claimed by ana@example.com');
    expect((await read(caseId)).log.filter((s: any) => s.step === 'note')).toEqual([]);
    await other.close();

    // A note and the resolution, from the owner's page.
    await page.fill('#noteText', 'Their key was a live key used on the test host');
    await page.click('#note');
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#log')?.textContent?.includes('Their key was a live key'));
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: `${artifacts}inbox-case.png`, fullPage: true });
    await page.selectOption('#outcome', 'unblocked');
    expect(await page.$$eval('#friction option', (os) => os.map((o) => (o as any).value))).toEqual([
      '',
      'authentication_confusion',
      'missing_docs',
      'rate_limits',
      'sdk_gap',
      'not_a_fit',
    ]);
    await page.selectOption('#friction', 'authentication_confusion');
    await page.fill('#resolveNote', 'rotated the key');
    await page.click('#resolve');
    await page.waitForSelector(`#case[data-status="resolved"]`);
    const resolved = await read(caseId);
    expect(resolved).toMatchObject({ status: 'resolved', outcome: 'unblocked', friction: 'authentication_confusion', owner: 'ana@example.com' });
    expect(resolved.log.map((s: any) => [s.step, s.actor])).toEqual(
      expect.arrayContaining([
        ['claimed', 'ana@example.com'],
        ['note', 'ana@example.com'],
        ['resolved', 'ana@example.com'],
      ]),
    );

    // Live: a new case shows up in the open queue without a reload, marked new.
    expect(await page.$(`#queue tr[data-case="inbox_new.h1"]`)).toBeNull();
    await escalated('inbox_new');
    await page.waitForSelector('#queue tr.new[data-case="inbox_new.h1"]', { timeout: 15_000 });

    await page.click('#queue tr[data-case="inbox_new.h1"]');
    await page.waitForSelector('#case[data-case="inbox_new.h1"]');
    await page.screenshot({ path: `${artifacts}inbox.png`, fullPage: true });

    // At a phone's width the page stacks and does not overflow.
    await page.setViewportSize({ width: 390, height: 900 });
    expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${artifacts}inbox-narrow.png`, fullPage: true });
    expect(failures).toEqual([]);
    await page.close();
  }, 120_000);

  it("with a personal agent key the page asks no name: it acts as the key's name (GET /v1/agents/me)", async () => {
    const created = await h.app.inject({ method: 'POST', url: '/v1/agent-keys', headers: { authorization: `Bearer ${ADMIN_KEY}` }, payload: { name: 'cy@example.com' } });
    expect(created.statusCode, created.body).toBe(201);
    const caseId = await escalated('inbox_own_key');
    const page = await browser.newPage();
    await page.goto(`${url}/dashboard/handoffs?case=${encodeURIComponent(caseId)}`);
    await page.fill('#key', created.json().key);
    await page.click('#connect');
    await page.waitForSelector(`#case[data-case="${caseId}"]`);
    expect(await page.textContent('#who')).toBe('Signed in as cy@example.com');
    expect(await page.isHidden('#nameField')).toBe(true);
    await page.click('#claim');
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#caseOwner')?.textContent === 'cy@example.com');
    expect((await read(caseId)).log.at(-1)).toMatchObject({ step: 'claimed', actor: 'cy@example.com' });
    await page.close();
  }, 60_000);

  it("Slack's link opens the case in the inbox, and the dashboard's ?developer= opens the journey", async () => {
    const caseId = await escalated('inbox_link');
    // Read over HTTP: the links are built on the address the request came to (ONRAMP_PUBLIC_URL unset).
    const { context } = (await (await fetch(`${url}/v1/handoffs/${caseId}`, { headers: agent })).json()) as any;
    expect(context.inboxUrl).toBe(`${url}/dashboard/handoffs`);
    expect(context.caseUrl).toBe(`${url}/dashboard/handoffs?case=${encodeURIComponent(caseId)}`);
    expect(context.dashboardUrl).toBe(`${url}/dashboard?developer=inbox_link`);
    const page = await browser.newPage();
    await page.goto(context.caseUrl);
    await page.fill('#key', AGENT_KEY);
    await page.fill('#name', 'ana@example.com');
    await page.click('#connect');
    await page.waitForSelector(`#case[data-case="${caseId}"]`);
    expect(await page.getAttribute('#case a[href^="/dashboard?developer="]', 'href')).toBe('/dashboard?developer=inbox_link');
    expect(await page.$(`#queue tr[data-case="${caseId}"][aria-current="true"]`)).not.toBeNull();
    await page.close();
  }, 60_000);
});
