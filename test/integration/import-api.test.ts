import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { ADMIN_KEY, INGEST_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { databaseBackends } from '../support/test-databases.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * A 40-day-old history for two developers: one went as far as an active integration (after a
 * burst of 401s and a support ticket) and then stalled, one never called. Lived, it would have
 * sent nudges and opened cases; imported, it gives the same stages and metrics and sends nothing.
 */
function oldHistory(prefix: string, start: number) {
  const at = (ms: number) => new Date(start + ms).toISOString();
  const a = `${prefix}_active`;
  const b = `${prefix}_silent`;
  const request = (n: number, status: number, endpoint: string, ms: number) => ({
    id: `${a}-r${n}`,
    type: 'api.request',
    occurredAt: at(ms),
    properties: { apiKey: `key_${a}`, endpoint, method: 'GET', status, mode: 'test', userAgent: 'acme-node/1.2' },
  });
  return [
    {
      id: `${a}-s`,
      type: 'developer.signed_up',
      developerId: a,
      occurredAt: at(0),
      properties: { email: `${a}@example.com`, accountType: 'individual', acquisitionChannel: 'organic_search', timezone: 'UTC' },
    },
    { id: `${a}-k`, type: 'api_key.created', developerId: a, occurredAt: at(HOUR), properties: { apiKey: `key_${a}`, mode: 'test' } },
    ...[0, 1, 2, 3, 4, 5].map((n) => request(n, 401, '/v1/charges', 2 * HOUR + n * 60_000)),
    request(6, 200, '/v1/charges', 3 * HOUR),
    request(7, 200, '/v1/customers', 5 * HOUR),
    { id: `${a}-t`, type: 'support.ticket_created', developerId: a, occurredAt: at(DAY), properties: { subject: 'where is the live key' } },
    {
      id: `${b}-s`,
      type: 'developer.signed_up',
      developerId: b,
      occurredAt: at(0),
      properties: { email: `${b}@example.com`, accountType: 'individual', acquisitionChannel: 'paid', timezone: 'UTC' },
    },
    { id: `${b}-k`, type: 'api_key.created', developerId: b, occurredAt: at(HOUR), properties: { apiKey: `key_${b}`, mode: 'test' } },
  ];
}

describe.each(databaseBackends())('POST /v1/import: a backfill (%s)', (backend) => {
  let h: OnrampHarness;
  const admin = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
  const importEvents = (body: unknown, headers: Record<string, string> = admin) =>
    h.app.inject({ method: 'POST', url: '/v1/import', headers, payload: typeof body === 'string' ? body : JSON.stringify(body) });
  const get = async (url: string, key = ADMIN_KEY) => {
    const response = await h.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  };
  const messages = async (id: string) => (await get(`/v1/developers/${id}/messages`, INGEST_KEY)).messages as { ruleId: string; outcome: string; reason: string | null }[];

  beforeAll(async () => {
    h = await new OnrampHarness(backend).start();
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('refuses the ingest key, a bad batch (naming the field, storing nothing) and an oversized one', async () => {
    const event = {
      id: 'refused-1',
      type: 'developer.signed_up',
      developerId: 'refused',
      occurredAt: new Date().toISOString(),
      properties: { email: 'x@example.com', accountType: 'individual', acquisitionChannel: 'paid' },
    };
    expect((await importEvents({ events: [event] }, { authorization: `Bearer ${INGEST_KEY}`, 'content-type': 'application/json' })).statusCode).toBe(401);
    const bad = await importEvents({ events: [event, { ...event, id: 'refused-2', properties: { ...event.properties, email: 'not an email' } }] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors).toEqual([expect.objectContaining({ index: 1, path: 'properties.email' })]);
    const tooMany = await importEvents({ events: Array.from({ length: 1001 }, (_, i) => ({ ...event, id: `many-${i}` })) });
    expect(tooMany.statusCode).toBe(413);
    expect((await importEvents('not json')).statusCode).toBe(400);
    expect(await h.prisma.$queryRawUnsafe<unknown[]>(`SELECT id FROM events WHERE developer_id = 'refused'`)).toEqual([]);
  });

  it('is in /openapi.json with the body and responses of /v1/events', async () => {
    const openapi = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const imported = openapi.paths['/v1/import'].post;
    expect(Object.keys(imported.responses)).toEqual(Object.keys(openapi.paths['/v1/events'].post.responses));
    expect(imported.requestBody).toEqual(openapi.paths['/v1/events'].post.requestBody);
  });

  it('a 40-day-old history: stages, transitions and metrics as if lived; no email, no case; nudges skipped (backfill); a re-import changes nothing', async () => {
    const start = Date.now() - 40 * DAY;
    const events = oldHistory(backend, start);
    const first = await importEvents({ events });
    expect(first.statusCode, first.body).toBe(202);
    expect(first.json()).toEqual({ accepted: events.length, duplicates: 0, unattributed: 0, deleted: 0 });

    const a = `${backend}_active`;
    const b = `${backend}_silent`;
    const journey = await h.waitForJourney(a, (j) => j.stage === 'active_integration');
    // Every stage at the time of its evidence; transitions are advances of the current stage as the
    // journey heard them (a history imported in one batch goes past the first call in one step).
    expect(journey.stages.filter((s: { status: string }) => s.status === 'reached').map((s: { stage: string; at: string }) => [s.stage, s.at])).toEqual([
      ['account_created', new Date(start).toISOString()],
      ['credential_provisioned', new Date(start + HOUR).toISOString()],
      ['first_api_call', new Date(start + 3 * HOUR).toISOString()],
      ['active_integration', new Date(start + 5 * HOUR).toISOString()],
    ]);
    expect(journey.transitions.map((t: { to: string; occurredAt: string }) => [t.to, t.occurredAt]).at(-1)).toEqual([
      'active_integration',
      new Date(start + 5 * HOUR).toISOString(),
    ]);
    await h.waitForJourney(b, (j) => j.stage === 'credential_provisioned');

    // The journeys decided on the past: every nudge due is recorded skipped (backfill).
    for (const id of [a, b]) await eventually(() => messages(id), { until: (list) => list.length >= 2, describe: `two nudge decisions for ${id}` });
    const decided = (list: Awaited<ReturnType<typeof messages>>) => list.map((m) => [m.ruleId, m.outcome, m.reason]).sort();
    expect(decided(await messages(a))).toEqual([
      ['authentication-help', 'skipped', 'backfill'],
      ['go-live-checklist', 'skipped', 'backfill'],
    ]);
    expect(decided(await messages(b))).toEqual([
      ['first-call-help', 'skipped', 'backfill'],
      ['first-call-second-nudge', 'skipped', 'backfill'],
    ]);
    // Idle: what a live journey would do next (sends, cases) would have been done by now.
    for (const id of [a, b]) await h.waitForIdle(id);
    expect((await get(`/v1/emails?developerId=${a}`)).emails).toEqual([]);
    expect((await get(`/v1/emails?developerId=${b}`)).emails).toEqual([]);
    expect((await get(`/v1/handoffs?developer=${a}`)).handoffs).toEqual([]);
    expect((await get(`/v1/handoffs?developer=${b}`)).handoffs).toEqual([]);

    // Metrics by event time, as if lived: one of two called, three hours after signing up.
    const day = new Date(start).toISOString().slice(0, 10);
    const ttfac = await get(`/v1/metrics/ttfac?from=${day}&to=${day}`);
    expect(ttfac.overall).toMatchObject({ developers: 2, reached: 1, percentiles: { p50: 3 * 3600 } });
    const conversion = await get(`/v1/metrics/conversion?from=${day}&to=${day}&transitions=account_created:first_api_call:7d`);
    expect(conversion.overall[0]).toMatchObject({ eligible: 2, converted: 1, rate: 0.5 });
    const errors = await get(`/v1/metrics/errors?from=${day}&to=${day}`);
    expect(errors.overall).toMatchObject({ developers: 1, requests: 8, errors: { requests: 6 } });

    // Again: all duplicates, nothing new decided, recorded or sent.
    const decisionsBefore = await h.count('nudge_decisions');
    const transitionsBefore = await h.count('journey_transitions');
    const again = await importEvents({ events });
    expect(again.json()).toEqual({ accepted: 0, duplicates: events.length, unattributed: 0, deleted: 0 });
    for (const id of [a, b]) await h.waitForIdle(id);
    expect(await h.count('nudge_decisions')).toBe(decisionsBefore);
    expect(await h.count('journey_transitions')).toBe(transitionsBefore);
    expect(await h.count('emails')).toBe(0);
  }, 90_000);
});
