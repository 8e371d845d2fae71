import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_EVENT_TYPES } from '../../src/events/event-schemas.ts';
import { funnelFormat, shippedFunnel } from '../../src/funnel/funnel-file.ts';
import type { FunnelVersion } from '../../src/funnel/funnel-in-force.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

const INGEST_KEY = 'vocabulary-ingest-key-0123456789';
const ADMIN_KEY = 'vocabulary-admin-key-01234567890';

/** A funnel of the growth team's own: a custom type as evidence (one never sent), requests, a built-in type. */
const OWN_FUNNEL = `stages:
  - id: signed_up
    evidence:
      - event: developer.signed_up
  - id: first_call
    evidence:
      - request: { status: 2xx }
  - id: paying
    evidence:
      - event: payment.succeeded
      - event: webhook.registered
        where: { mode: live }
  - id: team
    evidence:
      - event: team.member_invited
`;

interface EventTypeRow {
  type: string;
  builtIn: boolean;
  count: number;
  firstSeenAt: string | null;
  lastSeenAt: string | null;
  usedBy: string[];
}

/**
 * The open event vocabulary: any well-formed type is a custom event (stored idempotently, attributed
 * by developerId or by its apiKey, waiting for the key like a request), the built-in types keep
 * their strict schemas, and GET /v1/event-types reports what arrived and what the funnel uses.
 */
describe.each(databaseBackends())('custom events and GET /v1/event-types (%s)', (backend) => {
  let t: TestApp;
  let inForce: FunnelVersion = shippedFunnel();

  const post = async (url: string, events: unknown[], key = url === '/v1/import' ? ADMIN_KEY : INGEST_KEY) => {
    const response = await t.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${key}` }, payload: { events } });
    return { status: response.statusCode, body: response.json() as Record<string, unknown> };
  };
  const send = (...events: unknown[]) => post('/v1/events', events);
  const stored = async (id: string) =>
    (
      await t.db.pool.query<{ type: string; developer_id: string | null; api_key: string | null; occurred_at: Date; properties: unknown }>(
        'SELECT type, developer_id, api_key, occurred_at, properties FROM events WHERE id = $1',
        [id],
      )
    ).rows;
  const count = async (sql: string, ...params: unknown[]) => Number((await t.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM (${sql}) AS q`, params)).rows[0]!.n);
  const eventTypes = async () => {
    const response = await t.app.inject({ method: 'GET', url: '/v1/event-types', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(response.statusCode, response.body).toBe(200);
    return new Map((response.json().eventTypes as EventTypeRow[]).map((row) => [row.type, row]));
  };

  beforeAll(async () => {
    t = await startTestApp(backend, { keys: { ingest: INGEST_KEY, admin: ADMIN_KEY }, funnel: async () => inForce });
  });
  afterAll(async () => {
    await t?.close();
  });

  const payment = (id: string, over: Record<string, unknown> = {}) => ({
    id,
    type: 'payment.succeeded',
    developerId: 'dev_pay',
    occurredAt: '2026-11-03T09:12:00Z',
    properties: { amount: 4900, currency: 'EUR', lines: [{ sku: 'pro' }] },
    ...over,
  });

  const seenSignals = async (developerId: string) =>
    (
      await t.db.pool.query<{ signal_id: string; payload: unknown }>(
        `SELECT signal_id, payload FROM outbox_signals WHERE developer_id = $1 AND payload->>'type' = 'event.seen' ORDER BY id`,
        [developerId],
      )
    ).rows;

  it('stores a custom event once, as sent, however often it arrives; the journey hears only of the earliest of each type', async () => {
    const first = await send(payment('pay_1'));
    expect(first).toEqual({ status: 202, body: { accepted: 1, duplicates: 0, unattributed: 0, deleted: 0 } });
    expect(await send(payment('pay_1'), payment('pay_1'))).toEqual({ status: 202, body: { accepted: 0, duplicates: 2, unattributed: 0, deleted: 0 } });
    expect(await stored('pay_1')).toEqual([
      {
        type: 'payment.succeeded',
        developer_id: 'dev_pay',
        api_key: null,
        occurred_at: new Date('2026-11-03T09:12:00Z'),
        properties: { amount: 4900, currency: 'EUR', lines: [{ sku: 'pro' }] },
      },
    ]);
    // One event.seen per type (for rules that wait for an event); no stage proof: the funnel does not name it.
    expect(await count(`SELECT 1 FROM outbox_signals WHERE payload->>'causeEventId' = 'pay_1'`)).toBe(0);
    const seen = { signal_id: 'pay_1#seen', payload: { id: 'pay_1#seen', type: 'event.seen', eventType: 'payment.succeeded', occurredAt: '2026-11-03T09:12:00.000Z' } };
    expect(await seenSignals('dev_pay')).toEqual([seen]);
    // A later one of the type is no news; an earlier one is.
    await send(payment('pay_2', { occurredAt: '2026-11-04T00:00:00Z' }));
    expect(await seenSignals('dev_pay')).toEqual([seen]);
    await send(payment('pay_0', { occurredAt: '2026-11-02T00:00:00Z' }));
    expect((await seenSignals('dev_pay')).map((s) => s.signal_id)).toEqual(['pay_1#seen', 'pay_0#seen']);
    expect((await t.db.pool.query(`SELECT event_type, event_id FROM developer_first_events WHERE developer_id = 'dev_pay'`)).rows).toEqual([
      { event_type: 'payment.succeeded', event_id: 'pay_0' },
    ]);
    // Properties may be left out, as the built-in types with only optional ones may.
    expect((await send({ id: 'invite_1', type: 'team.member_invited', developerId: 'dev_pay', occurredAt: '2026-11-04T10:00:00Z' })).status).toBe(202);
    expect((await stored('invite_1'))[0]!.properties).toEqual({});
    expect((await seenSignals('dev_pay')).at(-1)).toMatchObject({ signal_id: 'invite_1#seen', payload: { eventType: 'team.member_invited' } });
  });

  it('goes through POST /v1/import as through /v1/events', async () => {
    expect(await post('/v1/import', [payment('pay_imported', { occurredAt: '2026-10-01T00:00:00Z' })])).toMatchObject({ status: 202, body: { accepted: 1 } });
    expect((await stored('pay_imported'))[0]).toMatchObject({ type: 'payment.succeeded', developer_id: 'dev_pay' });
  });

  it('attributes a custom event by its apiKey, at once when the key is mapped, else when its api_key.created arrives', async () => {
    const key = (id: string, developerId: string, apiKey: string, at: string) => ({
      id,
      type: 'api_key.created',
      developerId,
      occurredAt: at,
      properties: { apiKey, mode: 'live' },
    });
    expect((await send(key('key_known', 'dev_known', 'sk_known', '2026-11-01T00:00:00Z'))).status).toBe(202);
    const byKnownKey = payment('pay_known', { developerId: undefined, properties: { apiKey: 'sk_known', amount: 1 } });
    expect(await send(byKnownKey)).toMatchObject({ status: 202, body: { accepted: 1, unattributed: 0 } });
    expect((await stored('pay_known'))[0]).toMatchObject({ developer_id: 'dev_known', api_key: 'sk_known' });

    // The key's creation has not arrived yet: stored unattributed, nothing lost.
    const early = payment('pay_early', { developerId: undefined, properties: { apiKey: 'sk_late', amount: 2 } });
    expect(await send(early)).toMatchObject({ status: 202, body: { accepted: 1, unattributed: 1 } });
    expect((await stored('pay_early'))[0]).toMatchObject({ developer_id: null, api_key: 'sk_late' });
    expect(await send(key('key_late', 'dev_late', 'sk_late', '2026-11-05T00:00:00Z'))).toMatchObject({ status: 202, body: { accepted: 1 } });
    expect((await stored('pay_early'))[0]).toMatchObject({ developer_id: 'dev_late' });
    expect(await count(`SELECT 1 FROM unattributed_requests WHERE api_key = 'sk_late'`)).toBe(0);
    // A custom event is no request: no endpoint aggregate; its journey hears of it once attributed.
    expect(await count(`SELECT 1 FROM developer_endpoints WHERE developer_id = 'dev_late'`)).toBe(0);
    expect(await count(`SELECT 1 FROM outbox_signals WHERE payload->>'causeEventId' = 'pay_early'`)).toBe(0);
    expect((await seenSignals('dev_late')).map((s) => s.signal_id)).toEqual(['pay_early#seen', 'key_late#seen']); // in event order;
  });

  it('refuses a bad type, a missing attribution or a non-string apiKey with a 400 naming the field, storing nothing of the batch', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ type: 'Payment.Succeeded' }, 'type'],
      [{ type: 'payment' }, 'type'],
      [{ type: 'payment..succeeded' }, 'type'],
      [{ type: `payment.${'x'.repeat(57)}` }, 'type'],
      [{ type: 42 }, 'type'],
      [{ developerId: undefined }, 'developerId'],
      [{ developerId: undefined, properties: { apiKey: 7 } }, 'properties.apiKey'],
      [{ properties: 'paid' }, 'properties'],
    ];
    for (const [over, path] of cases) {
      const response = await send(payment('refused_ok'), payment('refused_bad', over));
      expect(response.status, JSON.stringify(over)).toBe(400);
      expect(response.body.errors, JSON.stringify(over)).toEqual([expect.objectContaining({ index: 1, path })]);
    }
    expect(await count(`SELECT 1 FROM events WHERE id LIKE 'refused%'`)).toBe(0);
    // 64 characters is the longest type.
    expect((await send(payment('longest_type', { type: `payment.${'x'.repeat(56)}` }))).status).toBe(202);
  });

  it('keeps the built-in types strict: a bad built-in event is a 400 naming its field, never a custom event', async () => {
    const signup = { id: 'strict_1', type: 'developer.signed_up', developerId: 'dev_strict', occurredAt: '2026-11-01T00:00:00Z' };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...signup, properties: { email: 'not an email', accountType: 'individual', acquisitionChannel: 'paid' } }, 'properties.email'],
      [{ ...signup, properties: { accountType: 'individual', acquisitionChannel: 'paid' } }, 'properties.email'],
      [{ ...signup, type: 'webhook.registered', properties: { mode: 'live' } }, 'properties.url'],
      [{ ...signup, type: 'api.request', developerId: undefined, properties: { endpoint: '/v1/x', method: 'GET', status: 200, mode: 'test' } }, 'developerId'],
      [{ ...signup, type: 'docs.viewed', developerId: undefined }, 'developerId'],
    ];
    for (const [event, path] of cases) {
      const response = await send(event);
      expect(response.status, JSON.stringify(event)).toBe(400);
      expect(response.body.errors, JSON.stringify(event)).toEqual([expect.objectContaining({ index: 0, path })]);
    }
    expect(await stored('strict_1')).toEqual([]);
  });

  it('GET /v1/event-types: 401 without the admin key', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/v1/event-types' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/v1/event-types', headers: { authorization: `Bearer ${INGEST_KEY}` } })).statusCode).toBe(401);
  });

  it('GET /v1/event-types: counts, first and last occurrence, built-in or not, and the stages of the funnel in force that use each', async () => {
    await send(
      { id: 'vt_1', type: 'invoice.paid', developerId: 'dev_vt', occurredAt: '2026-11-10T12:00:00Z', properties: {} },
      { id: 'vt_2', type: 'invoice.paid', developerId: 'dev_vt', occurredAt: '2026-11-08T12:00:00+02:00', properties: {} },
      { id: 'vt_3', type: 'api.request', developerId: 'dev_vt', occurredAt: '2026-11-09T00:00:00Z', properties: { endpoint: '/v1/x', method: 'GET', status: 200, mode: 'test' } },
    );
    await send({ id: 'vt_1', type: 'invoice.paid', developerId: 'dev_vt', occurredAt: '2020-01-01T00:00:00Z', properties: {} }); // a duplicate counts nothing
    await send({ id: 'vt_4', type: 'invoice.paid', developerId: 'dev_vt', occurredAt: '2026-11-09T00:00:00Z', properties: {} });

    const shipped = await eventTypes();
    expect(shipped.get('invoice.paid')).toEqual({
      type: 'invoice.paid',
      builtIn: false,
      count: 3,
      firstSeenAt: '2026-11-08T10:00:00.000Z',
      lastSeenAt: '2026-11-10T12:00:00.000Z',
      usedBy: [],
      awaitedBy: [],
    });
    expect(shipped.get('api.request')).toMatchObject({ builtIn: true, count: 1, usedBy: ['first_api_call', 'active_integration', 'production_deployment'] });
    expect(shipped.get('webhook.registered')).toEqual({
      type: 'webhook.registered',
      builtIn: true,
      count: 0,
      firstSeenAt: null,
      lastSeenAt: null,
      usedBy: ['production_deployment'],
      awaitedBy: [],
    });
    // Every built-in type is listed, sent or not; the list is sorted by type.
    expect([...shipped.values()].filter((row) => row.builtIn).map((row) => row.type)).toEqual([...BUILT_IN_EVENT_TYPES].sort());
    expect([...shipped.keys()]).toEqual([...shipped.keys()].sort());
    // The counts agree with a count of the events table itself.
    const { rows } = await t.db.pool.query<{ type: string; n: number; first: Date; last: Date }>(
      'SELECT type, count(*)::int AS n, min(occurred_at) AS first, max(occurred_at) AS last FROM events GROUP BY type',
    );
    for (const row of rows) {
      expect(shipped.get(row.type), row.type).toMatchObject({ count: row.n, firstSeenAt: row.first.toISOString(), lastSeenAt: row.last.toISOString() });
    }
    expect([...shipped.values()].filter((row) => row.count > 0).length).toBe(rows.length);

    // Another funnel in force, other usedBy.
    const own = funnelFormat.parse(OWN_FUNNEL);
    if (!own.ok) throw new Error(own.errors.map((e) => funnelFormat.formatError(e)).join('; '));
    inForce = { version: 2, document: own.document };
    const types = await eventTypes();
    expect(types.get('payment.succeeded')).toMatchObject({ builtIn: false, usedBy: ['paying'] });
    expect(types.get('webhook.registered')?.usedBy).toEqual(['paying']);
    expect(types.get('api.request')?.usedBy).toEqual(['first_call']);
    expect(types.get('developer.signed_up')?.usedBy).toEqual(['signed_up']);
    expect(types.get('docs.viewed')?.usedBy).toEqual([]);
    // A type the funnel waits for that never arrived is listed too.
    expect(types.get('team.member_invited')).toMatchObject({ builtIn: false, usedBy: ['team'] });
    inForce = shippedFunnel();

    // And one a rule in force waits for, with the rules that do.
    const rules = `rules:
  - id: ask-for-feedback
    when: { event: survey.completed, absentAfter: 14d }
    action: { send: explore-the-api }
  - id: invite-your-team
    when: { event: invoice.paid, absentAfter: 7d, since: first_api_call }
    action: { send: explore-the-api }
`;
    const put = await t.app.inject({
      method: 'PUT',
      url: '/v1/rules',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { source: rules, author: 'growth', reason: 'rules that wait' },
    });
    expect(put.statusCode, put.body).toBe(201);
    const withRules = await eventTypes();
    expect(withRules.get('survey.completed')).toEqual({
      type: 'survey.completed',
      builtIn: false,
      count: 0,
      firstSeenAt: null,
      lastSeenAt: null,
      usedBy: [],
      awaitedBy: ['ask-for-feedback'],
    });
    expect(withRules.get('invoice.paid')).toMatchObject({ count: 3, awaitedBy: ['invite-your-team'] });
  });

  it('counts concurrent batches of the same types exactly (one upsert a batch, in type order)', async () => {
    const before = (await eventTypes()).get('survey.answered')?.count ?? 0;
    const batch = (n: number) =>
      ['survey.answered', 'seat.added', 'api.request'].flatMap((type, i) =>
        Array.from({ length: 5 }, (_, j) => ({
          id: `conc_${n}_${i}_${j}`,
          type,
          developerId: `dev_conc_${j}`,
          occurredAt: `2026-11-1${j}T00:00:00Z`,
          properties: type === 'api.request' ? { endpoint: '/v1/x', method: 'GET', status: 200, mode: 'test' } : {},
        })),
      );
    const results = await Promise.all(Array.from({ length: 8 }, (_, n) => send(...(n % 2 ? batch(n).reverse() : batch(n)))));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(202));
    const after = await eventTypes();
    expect(after.get('survey.answered')?.count).toBe(before + 40);
    expect(after.get('seat.added')).toMatchObject({ count: 40, firstSeenAt: '2026-11-10T00:00:00.000Z', lastSeenAt: '2026-11-14T00:00:00.000Z' });
  });
});
