import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

const INGEST_KEY = 'kong-ingest-key-0123456789abc';
const ADMIN_KEY = 'kong-admin-key-0123456789abcd';
const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/kong/${name}`, import.meta.url), 'utf8'));

/**
 * The Kong source, fed the HTTP Log plugin's documented bodies: one entry, a queue's array of
 * entries, resends (duplicates), attribution by consumer custom_id and by the apikey header
 * (mapped before and after the key's creation), a wrong key, a bad entry refusing its whole batch,
 * and GET /v1/sources counting it all.
 */
describe.each(databaseBackends())('/v1/sources/kong (%s)', (backend) => {
  let t: TestApp;
  let logKey: string;

  const rows = async (sql: string, ...params: unknown[]) => (await t.db.pool.query(sql, params)).rows as Record<string, unknown>[];
  const kongSources = async () => {
    const response = await t.app.inject({ method: 'GET', url: '/v1/sources', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(response.statusCode, response.body).toBe(200);
    return (response.json().sources as { source: string }[]).find((s) => s.source === 'kong') as Record<string, unknown>;
  };
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/v1/sources/kong', headers: { authorization: `Bearer ${logKey}`, ...headers }, payload: body as object });
  const sendEvents = (events: unknown[]) => t.app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${INGEST_KEY}` }, payload: { events } });
  const keyCreated = (id: string, developerId: string, apiKey: string, mode = 'test') => ({
    id,
    type: 'api_key.created',
    developerId,
    occurredAt: '2026-11-30T00:00:00Z',
    properties: { apiKey, mode },
  });

  beforeAll(async () => {
    t = await startTestApp(backend, { keys: { ingest: INGEST_KEY, admin: ADMIN_KEY } });
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/ingest-keys',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { source: 'kong', author: 'kong test' },
    });
    logKey = created.json().key;
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('stores a single entry attributed by its consumer’s custom_id, the path without its query as the endpoint; a resend is a duplicate', async () => {
    const single = await post(fixture('single-entry.json'));
    expect(single.statusCode, single.body).toBe(200);
    expect(single.json()).toEqual({ accepted: 1, duplicates: 0, unattributed: 0, deleted: 0 });
    const [event] = await rows(`SELECT id, type, developer_id, occurred_at, properties FROM events WHERE id LIKE 'kong:%'`);
    expect(event).toEqual({
      id: 'kong:2f6946328ffc4946b8c9120704a4a155',
      type: 'api.request',
      developer_id: 'dev_kong_consumer',
      occurred_at: new Date(1764579600000),
      properties: { endpoint: '/anything', method: 'GET', status: 200, userAgent: 'HTTPie/3.2.3', mode: 'live', latencyMs: 173 },
    });
    expect((await post(fixture('single-entry.json'))).json()).toEqual({ accepted: 0, duplicates: 1, unattributed: 0, deleted: 0 });
  });

  it('stores a queue’s batch attributed through the apikey header, a key mapped before and one mapped after; a resend is all duplicates', async () => {
    expect((await sendEvents([keyCreated('kong-key-known', 'dev_kong_known', 'sk_live_kong_known', 'live')])).statusCode).toBe(202);
    const batch = await post(fixture('batch.json'));
    expect(batch.statusCode, batch.body).toBe(200);
    // The two requests with sk_test_kong_early wait for that key's creation.
    expect(batch.json()).toEqual({ accepted: 3, duplicates: 0, unattributed: 2, deleted: 0 });
    const stored = async () =>
      (
        await rows(
          `SELECT id, developer_id, properties FROM events WHERE id IN ('kong:a1b2c3d4e5f60718293a4b5c6d7e8f90', 'kong:b1b2c3d4e5f60718293a4b5c6d7e8f90', 'kong:c1b2c3d4e5f60718293a4b5c6d7e8f90') ORDER BY id`,
        )
      ).map((r) => [r.id, r.developer_id, (r.properties as Record<string, unknown>).endpoint, (r.properties as Record<string, unknown>).mode]);
    expect(await stored()).toEqual([
      ['kong:a1b2c3d4e5f60718293a4b5c6d7e8f90', null, '/v1/payments', 'test'],
      ['kong:b1b2c3d4e5f60718293a4b5c6d7e8f90', null, '/v1/payments/pay_1', 'test'],
      ['kong:c1b2c3d4e5f60718293a4b5c6d7e8f90', 'dev_kong_known', '/v1/refunds', 'live'],
    ]);
    expect((await sendEvents([keyCreated('kong-key-early', 'dev_kong_early', 'sk_test_kong_early')])).statusCode).toBe(202);
    expect((await stored()).map(([, developer]) => developer)).toEqual(['dev_kong_early', 'dev_kong_early', 'dev_kong_known']);
    expect((await post(fixture('batch.json'))).json()).toEqual({ accepted: 0, duplicates: 3, unattributed: 0, deleted: 0 });
  });

  it('takes the mode from the X-Onramp-Mode header the plugin sends, over the key', async () => {
    const entry = {
      ...(fixture('single-entry.json') as Record<string, unknown>),
      request: { id: 'mode-1', method: 'GET', uri: '/v1/ping', headers: { apikey: 'sk_live_kong_known' } },
    };
    expect((await post(entry, { 'x-onramp-mode': 'test' })).json()).toMatchObject({ accepted: 1 });
    expect(await rows(`SELECT properties->>'mode' AS mode FROM events WHERE id = 'kong:mode-1'`)).toEqual([{ mode: 'test' }]);
  });

  it('derives a deterministic id for an entry without Kong’s request id', async () => {
    const entry = fixture('single-entry.json') as { request: Record<string, unknown>; response: { headers: Record<string, unknown> } };
    delete entry.request.id;
    delete entry.response.headers['x-kong-request-id'];
    entry.request.uri = '/v1/no-id';
    expect((await post(entry)).json()).toMatchObject({ accepted: 1, duplicates: 0 });
    expect((await post(entry)).json()).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await rows(`SELECT id FROM events WHERE properties->>'endpoint' = '/v1/no-id'`)).toEqual([{ id: expect.stringMatching(/^kong:sha256-[0-9a-f]{32}$/) }]);
  });

  it('refuses a wrong key (401) and a batch with one bad entry whole (400 naming it), and counts it all in GET /v1/sources', async () => {
    const before = await kongSources();
    const wrong = await post(fixture('single-entry.json'), { authorization: 'Bearer not-a-key' });
    expect(wrong.statusCode).toBe(401);
    const bad = await post(fixture('batch-with-bad-entry.json'));
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors).toEqual([{ path: '[2].response.status', message: expect.any(String) }]);
    expect(await rows(`SELECT id FROM events WHERE id LIKE 'kong:%ff'`)).toEqual([]);
    const anonymous = await post({
      ...(fixture('single-entry.json') as Record<string, unknown>),
      consumer: undefined,
      request: { id: 'anon-1', method: 'GET', uri: '/v1/x', headers: {} },
    });
    expect(anonymous.json().errors).toEqual([{ path: 'consumer.custom_id', message: expect.stringContaining('apikey request header') }]);
    expect(await rows(`SELECT id FROM events WHERE id = 'kong:anon-1'`)).toEqual([]);

    await eventually(
      async () =>
        expect(await kongSources()).toMatchObject({
          accepted: (before.accepted as number) + 0,
          rejected: (before.rejected as number) + 1 + 3 + 1,
          lastError: { message: expect.stringContaining('400 consumer.custom_id') },
        }),
      { describe: 'the kong refusals counted' },
    );
  });

  it('counts what the earlier cases stored', async () => {
    // single (1) + its resend, the batch (3) + its resend (3), the mode entry (1), the id-less entry (1) + its resend.
    await eventually(async () => expect(await kongSources()).toMatchObject({ accepted: 6, duplicates: 5, lastReceivedAt: expect.any(String) }), {
      describe: 'the kong counts',
    });
  });
});
