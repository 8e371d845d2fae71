import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdoutBucket } from '../../src/journey/nudging.ts';
import { eventually } from '../support/eventually.ts';
import { ADMIN_KEY, INGEST_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { PUBLIC_URL, SIGNING_SECRET } from '../support/nudge-deps.ts';
import { unsubscribeUrl } from '../../src/mail/unsubscribe-token.ts';
import { signupWithKey } from '../support/signup-events.ts';
import { databaseBackends } from '../support/test-databases.ts';

const shipped = parse(readFileSync(fileURLToPath(new URL('../../config/rules.yaml', import.meta.url)), 'utf8'));

/** The shipped rules with seconds for days, so a real dev server shows them within a test. */
function fastRules(): string {
  const doc = structuredClone(shipped);
  doc.policy.quietHours = { start: '00:00', end: '00:00' };
  doc.rules.find((r: any) => r.id === 'first-call-help').when.after = '1s';
  doc.rules.find((r: any) => r.id === 'first-call-second-nudge').when.after = '8s';
  return stringify(doc);
}

describe.each(databaseBackends())('nudges through the HTTP API (%s)', (backend) => {
  let h: OnrampHarness;
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  const reader = { authorization: `Bearer ${INGEST_KEY}` };

  beforeAll(async () => {
    h = await new OnrampHarness(backend).start();
    const put = await h.app.inject({
      method: 'PUT',
      url: '/v1/rules',
      headers: admin,
      payload: { source: fastRules(), author: 'growth@example.com', reason: 'seconds for days in this test' },
    });
    expect(put.statusCode, put.body).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  async function messages(id: string) {
    const response = await h.app.inject({ method: 'GET', url: `/v1/developers/${id}/messages`, headers: reader });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().messages as any[];
  }

  it('sends the segment template to the local outbox, lists the decision, and a one-click unsubscribe stops the next nudge', async () => {
    let n = 0;
    while (holdoutBucket(`${backend}_nudged_${n}`) < 1000) n++;
    const id = `${backend}_nudged_${n}`;
    const now = new Date().toISOString();
    const posted = await h.post({ events: signupWithKey(id, now, { accountType: 'organization', acquisitionChannel: 'listing_site', timezone: 'Europe/Paris' }) });
    expect(posted.statusCode, posted.body).toBe(202);

    const sent = await eventually(() => messages(id), { until: (m) => m.some((x) => x.outcome === 'sent'), describe: `a nudge sent to ${id}` });
    expect(sent[0]).toMatchObject({
      ruleId: 'first-call-help',
      outcome: 'sent',
      template: 'first-call-guided',
      segment: { engagement: 'new', channel: 'listing_site', accountType: 'organization' },
      email: { subject: 'Your first API call, step by step', transport: 'outbox', status: 'sent' },
    });
    expect(sent[0].ruleVersion).toBe(2);
    const journey = (await h.journey(id)).body;
    expect(journey.messages.map((m: any) => [m.ruleId, m.outcome])).toEqual([['first-call-help', 'sent']]);

    // The outbox holds the whole email, for the admin only.
    expect((await h.app.inject({ method: 'GET', url: `/v1/emails?developerId=${id}`, headers: reader })).statusCode).toBe(401);
    const outbox = (await h.app.inject({ method: 'GET', url: `/v1/emails?developerId=${id}`, headers: admin })).json().emails;
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({ to: `${id}@example.com`, template: 'first-call-guided' });
    const link = new URL(/Unsubscribe: (\S+)/.exec(outbox[0].text)![1]!);
    expect(link.origin).toBe(PUBLIC_URL);

    // A forged token changes nothing; the link's GET only asks; the one-click POST revokes consent.
    const forged = await h.unsubscribe(`/v1/unsubscribe?developer=${id}&token=forged`);
    expect(forged.statusCode).toBe(400);
    const page = await h.app.inject({ method: 'GET', url: link.pathname + link.search });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<form method="post"');
    const oneClick = await h.unsubscribe(link.pathname + link.search);
    expect(oneClick.statusCode, oneClick.body).toBe(200);
    expect(oneClick.json()).toEqual({ unsubscribed: true });

    // The 8 s nudge is decided after the revocation: skipped for consent, nothing sent.
    const after = await eventually(() => messages(id), { until: (m) => m.some((x) => x.ruleId === 'first-call-second-nudge'), describe: `the second nudge to ${id} decided` });
    expect(after.find((x) => x.ruleId === 'first-call-second-nudge')).toMatchObject({ outcome: 'skipped', reason: 'consent', email: null });
    expect((await h.app.inject({ method: 'GET', url: `/v1/emails?developerId=${id}`, headers: admin })).json().emails).toHaveLength(1);
  }, 60_000);

  it('turns first-session error bursts into one diagnosis each, counted across concurrent batches, under the frequency cap', async () => {
    let n = 0;
    while (holdoutBucket(`${backend}_errors_${n}`) < 1000) n++;
    const id = `${backend}_errors_${n}`;
    const t0 = Date.now();
    const at = (s: number) => new Date(t0 + s * 1000).toISOString();
    let r = 0;
    const request = (status: number, endpoint: string, s: number) => ({
      id: `${id}-r${r++}`,
      type: 'api.request',
      developerId: id,
      occurredAt: at(s),
      properties: { endpoint, method: 'POST', status, mode: 'test' },
    });
    expect(
      (
        await h.post({
          id: `${id}-s`,
          type: 'developer.signed_up',
          developerId: id,
          occurredAt: at(0),
          properties: { email: `${id}@example.com`, accountType: 'individual', acquisitionChannel: 'paid' },
        })
      ).statusCode,
    ).toBe(202);
    // 6 × 401 in two concurrent batches of 3 (threshold 5): neither batch alone crosses it.
    const unauthorized = await Promise.all([0, 1].map((b) => h.post({ events: [1, 2, 3].map((i) => request(401, '/v1/charges', b * 3 + i)) })));
    expect(unauthorized.map((x) => x.statusCode)).toEqual([202, 202]);
    // 400s concentrated on one endpoint (5 of 6), then 429s.
    await h.post({ events: [...[10, 11, 12, 13, 14].map((s) => request(400, '/v1/charges', s)), request(400, '/v1/refunds', 15)] });
    await h.post({ events: [20, 21, 22].map((s) => request(429, '/v1/charges', s)) });
    // A few more 401s change nothing: the burst is one signal (as many again would be another,
    // `continued`: test/integration/error-bursts.test.ts).
    await h.post({ events: [30, 31, 32, 33].map((s) => request(401, '/v1/charges', s)) });

    const decided = await eventually(() => messages(id), { until: (m) => m.length >= 3, describe: `three diagnoses decided for ${id}` });
    const bursts = (await h.prisma.errorBurst.findMany({ where: { developerId: id } })).map((b) => [b.kind, b.status, b.endpoint]);
    expect(bursts.sort()).toEqual([
      ['bad_request_burst', 400, '/v1/charges'],
      ['rate_limited_burst', 429, null],
      ['unauthorized_burst', 401, null],
    ]);
    expect(decided).toHaveLength(3);
    const byRule = Object.fromEntries(decided.map((m) => [m.ruleId, m]));
    expect(Object.keys(byRule).sort()).toEqual(['authentication-help', 'rate-limit-guidance', 'required-parameters']);
    expect(byRule['authentication-help'].inputs.burst).toMatchObject({ kind: 'unauthorized_burst', status: 401 });
    expect(byRule['authentication-help'].inputs.burst.count).toBeGreaterThanOrEqual(5);
    // Default cap: 2 nudges in 7 days. The third diagnosis is a recorded skip.
    expect(decided.filter((m) => m.outcome === 'sent')).toHaveLength(2);
    expect(decided.filter((m) => m.outcome === 'skipped').map((m) => m.reason)).toEqual(['frequency_cap']);
    const emails = (await h.app.inject({ method: 'GET', url: `/v1/emails?developerId=${id}`, headers: admin })).json().emails;
    expect(emails).toHaveLength(2);
    if (byRule['required-parameters'].outcome === 'sent') {
      expect(emails.map((e: any) => e.subject)).toContain('Required parameters for /v1/charges');
    }
  }, 60_000);

  it("records an unsubscribe once per link: a replayed link (one-click or the page's button) stores no new event (so queues no signal)", async () => {
    const id = `${backend}_unsubscribed_twice`;
    expect(
      (
        await h.post({
          id: `${id}-s`,
          type: 'developer.signed_up',
          developerId: id,
          occurredAt: new Date().toISOString(),
          properties: { email: `${id}@example.com`, accountType: 'individual', acquisitionChannel: 'paid' },
        })
      ).statusCode,
    ).toBe(202);
    const link = new URL(unsubscribeUrl(PUBLIC_URL, SIGNING_SECRET, id));
    const unsubscribe = (payload: string) => h.unsubscribe(link.pathname + link.search, payload);
    expect((await unsubscribe('List-Unsubscribe=One-Click')).statusCode).toBe(200);
    const revocations = async () =>
      Number((await h.prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM events WHERE developer_id = ${id} AND type = 'consent.updated'`)[0]!.n);
    expect(await revocations()).toBe(1);
    const stored = await h.count('events');
    for (const payload of ['List-Unsubscribe=One-Click', 'List-Unsubscribe=One-Click', '']) {
      const again = await unsubscribe(payload);
      expect(again.statusCode, again.body).toBe(200);
      expect(again.json()).toEqual({ unsubscribed: true });
    }
    expect(await revocations()).toBe(1);
    expect(await h.count('events')).toBe(stored);
  });

  it('answers 404 for the messages of an unknown developer and 401 without a key', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/v1/developers/nobody/messages', headers: reader })).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'GET', url: '/v1/developers/nobody/messages' })).statusCode).toBe(401);
  });
});
