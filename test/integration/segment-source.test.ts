import { readFileSync } from 'node:fs';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

const INGEST_KEY = 'segment-ingest-key-0123456789';
const ADMIN_KEY = 'segment-admin-key-01234567890';
const badBatch: unknown = JSON.parse(readFileSync(new URL('../fixtures/segment/batch-with-bad-message.json', import.meta.url), 'utf8'));

/**
 * The Segment-compatible source, driven by Segment's own Node client (`@segment/analytics-node`)
 * pointed at Onramp: write key = an ingest key, identify → the profile, mapped tracks → built-in
 * events and their stage evidence, pages → docs.viewed, resends → duplicates, and a bad batch
 * refused whole with the field named. GET /v1/sources counts all of it.
 */
describe.each(databaseBackends())('/v1/sources/segment (%s)', (backend) => {
  let t: TestApp;
  let url: string;
  let writeKey: string;

  /** A client like a customer's: the batch path under Onramp's host, one batch per flush, no retries (a status is final). */
  const client = (key: string) => {
    const analytics = new Analytics({ writeKey: key, host: url, path: '/v1/sources/segment/batch', flushAt: 20, flushInterval: 60_000, maxRetries: 0 });
    const statuses: number[] = [];
    analytics.on('http_response', (response) => statuses.push(response.status));
    return { analytics, statuses };
  };
  const rows = async (sql: string, ...params: unknown[]) => (await t.db.pool.query(sql, params)).rows as Record<string, unknown>[];
  const sources = async () => {
    const response = await t.app.inject({ method: 'GET', url: '/v1/sources', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(response.statusCode, response.body).toBe(200);
    return Object.fromEntries((response.json().sources as { source: string }[]).map((s) => [s.source, s])) as Record<string, Record<string, unknown>>;
  };
  const postBatch = (body: unknown, key = writeKey) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/sources/segment/batch',
      headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });

  beforeAll(async () => {
    t = await startTestApp(backend, { keys: { ingest: INGEST_KEY, admin: ADMIN_KEY } });
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/ingest-keys',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { source: 'segment', author: 'segment test' },
    });
    writeKey = created.json().key;
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('stores what the analytics-node client sends: the signup profile, mapped and custom tracks, pages; a resend is all duplicates', async () => {
    const { analytics, statuses } = client(writeKey);
    const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 9, minute));
    const messages = [
      () =>
        analytics.identify({
          messageId: 'm-identify',
          userId: 'dev_seg',
          timestamp: at(0),
          traits: { email: 'ada@example.com', accountType: 'organization', company: { id: 'org_seg' }, acquisitionChannel: 'referral', timezone: 'Europe/Berlin', name: 'Ada' },
          // A library's own locale, written with an underscore: read as a language tag.
          context: { locale: 'de_DE' },
        }),
      () => analytics.page({ messageId: 'm-page', userId: 'dev_seg', name: 'Quickstart', properties: { path: '/docs/quickstart' }, timestamp: at(1) }),
      () => analytics.track({ messageId: 'm-key', userId: 'dev_seg', event: 'API Key Created', properties: { api_key: 'key_seg', mode: 'test' }, timestamp: at(2) }),
      () => analytics.track({ messageId: 'm-team', userId: 'dev_seg', event: 'Team Member Invited', properties: { invitee: 'bob@example.com' }, timestamp: at(3) }),
      () =>
        analytics.identify({
          messageId: 'm-identify-2',
          userId: 'dev_seg',
          timestamp: at(4),
          traits: { email: 'ada@new.example.com', accountType: 'individual', acquisitionChannel: 'paid' },
        }),
    ];
    for (const send of messages) send();
    await analytics.closeAndFlush({ timeout: 20_000 });
    expect(statuses).toEqual([200]);

    const events = await rows(`SELECT id, type, developer_id, occurred_at, properties FROM events WHERE id LIKE 'segment:%' ORDER BY occurred_at`);
    expect(events.map((e) => [e.id, e.type, e.developer_id])).toEqual([
      ['segment:m-identify', 'developer.signed_up', 'dev_seg'],
      ['segment:m-page', 'docs.viewed', 'dev_seg'],
      ['segment:m-key', 'api_key.created', 'dev_seg'],
      ['segment:m-team', 'team.member_invited', 'dev_seg'],
      // Signed up already: a later identify is kept, and changes no profile.
      ['segment:m-identify-2', 'developer.identified', 'dev_seg'],
    ]);
    expect(events[2]!.properties).toEqual({ apiKey: 'key_seg', mode: 'test' });
    expect(events[1]!.properties).toMatchObject({ path: '/docs/quickstart', name: 'Quickstart' });
    const [profile] = await rows('SELECT email, account_type, org_id, acquisition_channel, timezone, name, locale FROM developers WHERE id = $1', 'dev_seg');
    expect(profile).toEqual({
      email: 'ada@example.com',
      account_type: 'organization',
      org_id: 'org_seg',
      acquisition_channel: 'referral',
      timezone: 'Europe/Berlin',
      name: 'Ada',
      locale: 'de-DE',
    });
    // The api_key → developer join, and the stages the mapped events prove.
    expect(await rows('SELECT developer_id FROM api_keys WHERE api_key = $1', 'key_seg')).toEqual([{ developer_id: 'dev_seg' }]);
    const stages = await rows(`SELECT stage, event_id FROM stage_evidence WHERE developer_id = $1 ORDER BY stage`, 'dev_seg');
    expect(stages).toEqual(
      expect.arrayContaining([
        { stage: 'account_created', event_id: 'segment:m-identify' },
        { stage: 'credential_provisioned', event_id: 'segment:m-key' },
      ]),
    );

    // The client resends the same messages (a retry after a lost answer): nothing new.
    const again = client(writeKey);
    again.analytics.identify({
      messageId: 'm-identify',
      userId: 'dev_seg',
      timestamp: at(0),
      traits: { email: 'ada@example.com', accountType: 'organization', acquisitionChannel: 'referral' },
    });
    again.analytics.track({ messageId: 'm-key', userId: 'dev_seg', event: 'API Key Created', properties: { api_key: 'key_seg', mode: 'test' }, timestamp: at(2) });
    await again.analytics.closeAndFlush({ timeout: 20_000 });
    expect(again.statuses).toEqual([200]);
    expect(await rows(`SELECT count(*)::int AS n FROM events WHERE id LIKE 'segment:%'`)).toEqual([{ n: 5 }]);

    await eventually(async () => expect((await sources()).segment).toMatchObject({ accepted: 5, duplicates: 2, rejected: 0, lastError: null }), { describe: 'the segment counts' });
  });

  it('refuses a wrong write key (401), and a batch with one bad message whole (400 naming the field)', async () => {
    const before = await sources();
    const wrong = client('not-a-write-key');
    wrong.analytics.track({ messageId: 'm-wrong', userId: 'dev_wrong', event: 'Order Completed' });
    await wrong.analytics.closeAndFlush({ timeout: 20_000 });
    expect(wrong.statuses).toEqual([401]);

    // The write key as a bearer token, like every other ingest route, works too.
    const bearer = await t.app.inject({
      method: 'POST',
      url: '/v1/sources/segment/page',
      headers: { authorization: `Bearer ${writeKey}` },
      payload: { messageId: 'm-bearer', userId: 'dev_bearer', properties: { path: '/docs' } },
    });
    expect(bearer.json()).toEqual({ success: true, accepted: 1, duplicates: 0, unattributed: 0, deleted: 0 });

    const bad = await postBatch(badBatch);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors).toEqual([expect.objectContaining({ path: 'batch[3].event' })]);
    const misnamed = await postBatch({
      batch: [{ type: 'track', messageId: 'm-misnamed', userId: 'dev_bad', event: 'API Key Created', properties: { mode: 'test' } }],
    });
    expect(misnamed.statusCode).toBe(400);
    expect(misnamed.json().errors).toEqual([expect.objectContaining({ path: 'batch[0].properties.api_key' })]);
    const unnamed = await postBatch({ batch: [{ type: 'track', messageId: 'm-signup', userId: 'dev_bad', event: 'Signup' }] });
    expect(unnamed.json().errors).toEqual([expect.objectContaining({ path: 'batch[0].event', message: expect.stringContaining('maps to no Onramp event') })]);
    const oversized = await postBatch({
      batch: [
        { type: 'page', messageId: 'm-small', userId: 'dev_bad' },
        { type: 'page', messageId: 'm-large', userId: 'dev_bad', properties: { blob: 'x'.repeat(33 * 1024) } },
      ],
    });
    expect(oversized.statusCode).toBe(400);
    expect(oversized.json().errors).toEqual([expect.objectContaining({ path: 'batch[1]', message: expect.stringContaining('32 KB') })]);
    const anonymous = await postBatch({ batch: [{ type: 'page', messageId: 'm-anon', anonymousId: 'a-1' }] });
    expect(anonymous.json().errors).toEqual([expect.objectContaining({ path: 'batch[0].userId' })]);
    expect(await rows(`SELECT id FROM events WHERE developer_id IN ('dev_fixture_bad', 'dev_bad', 'dev_wrong') OR id = 'segment:m-anon'`)).toEqual([]);

    await eventually(
      async () => {
        const segment = (await sources()).segment!;
        expect(segment.rejected).toBe((before.segment!.rejected as number) + 1 + 4 + 1 + 1 + 2 + 1);
        expect(segment.accepted).toBe((before.segment!.accepted as number) + 1);
        expect(segment.lastError).toMatchObject({ message: expect.stringContaining('400 batch[0].userId') });
      },
      { describe: 'the refusals counted' },
    );
  });

  it('counts the other ingest routes as sources too', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${INGEST_KEY}` },
      payload: { events: [{ id: 'plain-1', type: 'docs.viewed', developerId: 'dev_plain', occurredAt: new Date().toISOString() }] },
    });
    expect(response.statusCode).toBe(202);
    await eventually(async () => expect((await sources()).events).toMatchObject({ accepted: 1, duplicates: 0, rejected: 0, lastReceivedAt: expect.any(String) }), {
      describe: 'the events counts',
    });
    expect((await sources()).import).toMatchObject({ accepted: 0, lastReceivedAt: null });
  });
});
