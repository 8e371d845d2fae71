import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_LOG_FORMAT } from '../../src/sources/aws-firehose/access-log.ts';
import { eventually } from '../support/eventually.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

const INGEST_KEY = 'aws-ingest-key-0123456789abcd';
const ADMIN_KEY = 'aws-admin-key-0123456789abcde';
const fixture = (name: string) => readFileSync(new URL(`../fixtures/aws-firehose/${name}`, import.meta.url), 'utf8');
const delivery = JSON.parse(fixture('delivery.json')) as { requestId: string; records: { data: string }[] };
const badDelivery = JSON.parse(fixture('delivery-with-bad-record.json')) as { requestId: string };

/**
 * The API Gateway source, fed Amazon Data Firehose's HTTP endpoint requests whose base64 records
 * are access log lines of the guide's format: attribution by principal and by key (mapped before
 * and after the key's creation), resends (duplicates), Firehose's answer format on success and on
 * every refusal, and GET /v1/sources counting it all.
 */
describe.each(databaseBackends())('/v1/sources/aws-firehose (%s)', (backend) => {
  let t: TestApp;
  let accessKey: string;

  const rows = async (sql: string, ...params: unknown[]) => (await t.db.pool.query(sql, params)).rows as Record<string, unknown>[];
  const awsSource = async () => {
    const response = await t.app.inject({ method: 'GET', url: '/v1/sources', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(response.statusCode, response.body).toBe(200);
    return (response.json().sources as { source: string }[]).find((s) => s.source === 'aws-firehose') as Record<string, unknown>;
  };
  /** As Firehose sends it: protocol 1.0, the request id header, the access key. */
  const deliver = (body: { requestId: string }, key = accessKey, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/sources/aws-firehose',
      headers: {
        'content-type': 'application/json',
        'x-amz-firehose-protocol-version': '1.0',
        'x-amz-firehose-request-id': body.requestId,
        'x-amz-firehose-source-arn': 'arn:aws:firehose:us-east-1:123456789012:deliverystream/amazon-apigateway-onramp',
        'x-amz-firehose-access-key': key,
        ...headers,
      },
      payload: JSON.stringify(body),
    });
  const keyCreated = (id: string, developerId: string, apiKey: string) => ({
    id,
    type: 'api_key.created',
    developerId,
    occurredAt: '2026-11-30T00:00:00Z',
    properties: { apiKey, mode: 'live' },
  });
  const sendEvents = (events: unknown[]) => t.app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${INGEST_KEY}` }, payload: { events } });

  beforeAll(async () => {
    t = await startTestApp(backend, { keys: { ingest: INGEST_KEY, admin: ADMIN_KEY } });
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/ingest-keys',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { source: 'aws-firehose', author: 'aws test' },
    });
    accessKey = created.json().key;
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('the fixture’s lines are the guide’s access log format', () => {
    const keys = Object.keys(JSON.parse(ACCESS_LOG_FORMAT) as object);
    for (const line of fixture('access-log-lines.ndjson').trim().split('\n')) expect(Object.keys(JSON.parse(line) as object)).toEqual(keys);
    expect(delivery.records.map((r) => Buffer.from(r.data, 'base64').toString('utf8'))).toEqual(
      fixture('access-log-lines.ndjson')
        .trim()
        .split('\n')
        .map((l) => `${l}\n`),
    );
    expect(readFileSync(new URL('../../docs/guides/sources/aws-api-gateway.md', import.meta.url), 'utf8')).toContain(ACCESS_LOG_FORMAT);
  });

  it('stores a delivery’s records attributed by principal and by key (mapped before and after), answers as Firehose expects; a resend is all duplicates', async () => {
    expect((await sendEvents([keyCreated('aws-key-known', 'dev_aws_known', 'sk_live_aws_known')])).statusCode).toBe(202);
    const first = await deliver(delivery);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ requestId: delivery.requestId, timestamp: expect.any(Number) });
    const stored = async () =>
      (await rows(`SELECT id, developer_id, occurred_at, properties FROM events WHERE id LIKE 'aws:%-7b61-11e6-9a41-93e8deadbeef' ORDER BY occurred_at`)).map((r) => [
        r.id,
        r.developer_id,
        r.properties,
      ]);
    expect(await stored()).toEqual([
      [
        'aws:c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
        'dev_aws_principal',
        { endpoint: '/pets/{petId}', method: 'GET', status: 200, userAgent: 'my-sdk-python/2.1.0', mode: 'live', latencyMs: 42 },
      ],
      [
        'aws:d7bf0bd7-7b61-11e6-9a41-93e8deadbeef',
        'dev_aws_known',
        { apiKey: 'sk_live_aws_known', endpoint: '/pets', method: 'POST', status: 201, userAgent: 'my-sdk-python/2.1.0', mode: 'live', latencyMs: 42 },
      ],
      // Its key's creation has not arrived yet: stored unattributed, a test key, no latency ("-").
      [
        'aws:e8cf1ce8-7b61-11e6-9a41-93e8deadbeef',
        null,
        { apiKey: 'sk_test_aws_early', endpoint: '/pets/{petId}', method: 'DELETE', status: 404, userAgent: 'my-sdk-python/2.1.0', mode: 'test' },
      ],
    ]);
    expect((await sendEvents([keyCreated('aws-key-early', 'dev_aws_early', 'sk_test_aws_early')])).statusCode).toBe(202);
    expect((await stored()).map(([, developer]) => developer)).toEqual(['dev_aws_principal', 'dev_aws_known', 'dev_aws_early']);

    // Firehose retries a delivery whose answer it did not get: the same records, nothing new.
    expect((await deliver(delivery)).statusCode).toBe(200);
    expect(await rows(`SELECT count(*)::int AS n FROM events WHERE id LIKE 'aws:%'`)).toEqual([{ n: 3 }]);
    await eventually(async () => expect(await awsSource()).toMatchObject({ accepted: 3, duplicates: 3, rejected: 0, lastError: null }), { describe: 'the aws counts' });
  });

  it('takes the mode from the stream’s common attribute `mode`', async () => {
    const record = (line: object) => ({ data: Buffer.from(JSON.stringify(line)).toString('base64') });
    const body = {
      requestId: 'mode-delivery',
      timestamp: Date.now(),
      records: [record({ requestId: 'mode-1', requestTimeEpoch: '1764590000000', httpMethod: 'GET', resourcePath: '/pets', status: '200', apiKey: 'sk_live_aws_known' })],
    };
    const response = await deliver(body, accessKey, { 'x-amz-firehose-common-attributes': JSON.stringify({ commonAttributes: { mode: 'test' } }) });
    expect(response.statusCode, response.body).toBe(200);
    expect(await rows(`SELECT properties->>'mode' AS mode FROM events WHERE id = 'aws:mode-1'`)).toEqual([{ mode: 'test' }]);
  });

  it('refuses a wrong access key and a delivery with one bad record in Firehose’s error format, storing nothing of it', async () => {
    const before = await awsSource();
    const wrong = await deliver(delivery, 'not-a-key');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toEqual({ requestId: delivery.requestId, timestamp: expect.any(Number), errorMessage: 'X-Amz-Firehose-Access-Key: invalid key' });

    const bad = await deliver(badDelivery);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      requestId: badDelivery.requestId,
      timestamp: expect.any(Number),
      errorMessage: expect.stringMatching(/^records\[1\]: not a JSON access log line/),
    });
    expect(await rows(`SELECT id FROM events WHERE id = 'aws:f9df2df9-7b61-11e6-9a41-93e8deadbeef'`)).toEqual([]);

    // A body that is not Firehose's (the schema's 400) is answered in its format too.
    const shapeless = await deliver({ requestId: 'shapeless', records: [{ data: '%%%' }] } as { requestId: string });
    expect(shapeless.statusCode).toBe(400);
    expect(shapeless.json()).toEqual({ requestId: 'shapeless', timestamp: expect.any(Number), errorMessage: expect.stringContaining('records[0].data') });

    await eventually(
      async () =>
        expect(await awsSource()).toMatchObject({
          accepted: before.accepted,
          rejected: (before.rejected as number) + 1 + 2 + 1,
          lastError: { message: expect.stringContaining('400 ') },
        }),
      { describe: 'the aws refusals counted' },
    );
  });
});
