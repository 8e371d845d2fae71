import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.ts';
import { eventually } from '../support/eventually.ts';
import { ADMIN_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { databaseBackends } from '../support/test-databases.ts';

/**
 * A product's own funnel end to end: five stages with a custom event type and an endpoint-specific
 * request condition, applied while developers are mid-journey under the shipped funnel. Every
 * developer's stages are recomputed under it and the running journeys follow it; new events are
 * evaluated under it; the metrics and the dashboard read it; a change that would orphan a rule is refused.
 */

const at = (hour: number) => new Date(Date.UTC(2026, 10, 2, hour)).toISOString();

const PAYMENTS_FUNNEL = `stages:
  - id: signed_up
    label: Signed up
    evidence: [{ event: developer.signed_up }]
  - id: first_call
    role: first_call
    evidence: [{ request: { status: 2xx, exclude: [/health] } }]
  - id: first_charge
    label: First charge
    evidence: [{ request: { status: 2xx, method: POST, endpoint: /v1/charges } }]
  - id: sandbox_payment
    evidence: [{ event: payment.succeeded, where: { livemode: false } }]
  - id: live_payment
    role: production
    evidence: [{ event: payment.succeeded, where: { livemode: true } }]
`;
const PAYMENTS_RULES = `rules:
  - id: charge-help
    when: { stage: first_call, after: 48h }
    action: { escalate: { reason: no charge two days after the first call } }
`;
const PAYMENTS_POLICY = `criteria:
  stalls:
    - { id: no-payment, since: first_charge, until: sandbox_payment, after: 14d }
`;

describe.each(databaseBackends())('a funnel change end to end (%s)', (backend) => {
  let h: OnrampHarness;
  beforeAll(async () => {
    h = await new OnrampHarness(backend).start();
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  const admin = (method: 'GET' | 'PUT', url: string, payload?: unknown) =>
    h.app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN_KEY}` }, ...(payload ? { payload: payload as object } : {}) });
  const reached = (journey: { stages: { stage: string; status: string; causeEventId?: string }[] }) =>
    Object.fromEntries(journey.stages.filter((s) => s.status === 'reached').map((s) => [s.stage, s.causeEventId]));
  const request = (id: string, developerId: string, hour: number, endpoint: string, method = 'GET', status = 200) => ({
    id,
    type: 'api.request',
    developerId,
    occurredAt: at(hour),
    properties: { endpoint, method, status, mode: 'test' },
  });

  it('recomputes every developer under the new version, the journeys follow it, and new events are evaluated under it', async () => {
    const dev = `${backend}_payer`;
    const signup = {
      id: `${dev}-s`,
      type: 'developer.signed_up',
      developerId: dev,
      occurredAt: at(0),
      properties: { email: 'p@example.com', accountType: 'individual', acquisitionChannel: 'paid' },
    };
    expect(
      (
        await h.post({
          events: [signup, request(`${dev}-h`, dev, 1, '/health'), request(`${dev}-r1`, dev, 2, '/v1/customers'), request(`${dev}-r2`, dev, 3, '/v1/charges', 'POST')],
        })
      ).statusCode,
    ).toBe(202);
    // Under the shipped funnel (version 1): the health check is a first call too.
    let journey = await h.waitForJourney(dev, (j) => j.stage === 'active_integration');
    expect(journey.funnelVersion).toBe(1);
    expect(reached(journey)).toMatchObject({ account_created: `${dev}-s`, first_api_call: `${dev}-h` });

    // A funnel that drops the stages the shipped rules and policy name is refused, naming them…
    const refused = await admin('PUT', '/v1/funnel', { source: PAYMENTS_FUNNEL, author: 'ada', reason: 'payments' });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().errors).toEqual(expect.arrayContaining([expect.objectContaining({ document: 'rules', rule: expect.any(String) })]));
    // …and accepted with rules and a policy that fit it.
    const applied = await admin('PUT', '/v1/funnel', {
      source: PAYMENTS_FUNNEL,
      author: 'ada',
      reason: 'payments',
      rules: { source: PAYMENTS_RULES },
      escalationPolicy: { source: PAYMENTS_POLICY },
    });
    expect(applied.statusCode, applied.body).toBe(201);
    expect(applied.json()).toMatchObject({ version: 2, created: true });
    const done = await eventually(async () => (await admin('GET', '/v1/funnel/recomputation')).json(), {
      until: (s) => s.status === 'done',
      describe: 'the recomputation of funnel version 2 done',
    });
    expect(done).toMatchObject({ funnelVersion: 2, developersDone: 1 });

    // The journey follows version 2: the health check no longer counts, the charge is its own stage.
    journey = await h.waitForJourney(dev, (j) => j.funnelVersion === 2 && j.stage === 'first_charge');
    expect(reached(journey)).toEqual({ signed_up: `${dev}-s`, first_call: `${dev}-r1`, first_charge: `${dev}-r2` });
    expect(journey.transitions.map((t: { from: string | null; to: string }) => [t.from, t.to])).toEqual([
      [null, 'signed_up'],
      ['signed_up', 'first_call'],
      ['first_call', 'first_charge'],
    ]);

    // A custom event, attributed by the developer, evaluated under version 2 at ingest.
    const payment = { id: `${dev}-p1`, type: 'payment.succeeded', developerId: dev, occurredAt: at(5), properties: { livemode: false, amount: 1200 } };
    expect((await h.post({ events: [payment] })).statusCode).toBe(202);
    journey = await h.waitForJourney(dev, (j) => j.stage === 'sandbox_payment');
    expect(reached(journey).sandbox_payment).toBe(`${dev}-p1`);

    // The metrics read version 2's stages and rows (once the API's cache of the funnel in force has it: within 2 s).
    const conversion = await eventually(() => h.app.inject({ method: 'GET', url: '/v1/metrics/conversion', headers: { authorization: `Bearer ${ADMIN_KEY}` } }), {
      until: (response) => response.json().funnel.version === 2,
      describe: 'the metrics in funnel version 2',
    });
    expect(conversion.json().funnel).toMatchObject({ version: 2, stages: expect.arrayContaining([expect.objectContaining({ id: 'first_charge', label: 'First charge' })]) });
    expect(conversion.json().overall.find((t: { from: string }) => t.from === 'first_call')).toMatchObject({ to: 'first_charge', eligible: 1, converted: 1 });

    // The dashboard, in Chromium, draws version 2's funnel with its labels.
    const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
      const failures: string[] = [];
      page.on('pageerror', (error) => failures.push(error.message));
      await page.goto(`${url}/dashboard`);
      await page.fill('#key', ADMIN_KEY);
      await page.click('#load');
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 20_000 });
      // One bar per stage of version 2, by its labels; the windowed transitions are its four consecutive pairs.
      const bars = await page.evaluate(() => (globalThis as any).Chart.getChart('funnelChart').data.labels);
      expect(bars).toHaveLength(5);
      expect(bars).toContain('First charge');
      const rows = await page.$$eval('#transitions tr', (trs) => trs.slice(1).map((tr) => tr.querySelector('td')?.textContent?.trim() ?? ''));
      expect(rows).toHaveLength(4); // five stages, four consecutive pairs
      expect(rows[0]).toMatch(/^Signed up → /);
      expect(rows[1]).toMatch(/→ First charge \(30 d\)$/);
      expect(failures).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 180_000);
});
