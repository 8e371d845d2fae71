import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, INGEST_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { databaseBackends } from '../support/test-databases.ts';

/**
 * Issue 17, item 2: input that passed validation and then answered 500 (or was stored changed).
 * Each class is walked on the endpoints that read it: instants PostgreSQL cannot store, text it
 * cannot store faithfully (lone surrogates), numbers beyond a double, prototype-poisoning and
 * unknown keys, YAML that expands or nests without bound, and the errors Fastify and Node answer
 * before a route runs. Every answer is a 4xx in the one error shape naming the field, nothing of
 * a rejected request is stored, and the API still serves valid requests afterwards.
 */

type Method = 'GET' | 'POST' | 'PUT';

/**
 * The API's one error shape, exactly: `{"errors":[{index?, path, message}]}` and nothing else
 * (a config document's errors may also give the position and the item: `extra`).
 */
function expectErrorShape(body: unknown, extra: readonly string[] = []): asserts body is { errors: { index?: number; path: string; message: string }[] } {
  expect(Object.keys(body as object)).toEqual(['errors']);
  const { errors } = body as { errors: unknown[] };
  expect(errors.length).toBeGreaterThan(0);
  for (const error of errors as Record<string, unknown>[]) {
    expect(Object.keys(error).filter((k) => ![...extra, 'index', 'path', 'message'].includes(k))).toEqual([]);
    expect(typeof error.path).toBe('string');
    expect(typeof error.message).toBe('string');
  }
}

describe.each(databaseBackends())('hostile and odd input (%s)', (backend) => {
  let h: OnrampHarness;
  const event = (over: Record<string, unknown> = {}) => ({
    id: 'odd-1',
    type: 'docs.viewed',
    developerId: 'odd-dev',
    occurredAt: '2026-11-24T00:00:00Z',
    properties: { path: '/docs' },
    ...over,
  });

  beforeAll(async () => {
    h = await new OnrampHarness(backend).start();
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  async function call(method: Method, url: string, body?: unknown, key = ADMIN_KEY) {
    const response = await h.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: response.statusCode, body: response.json() as unknown };
  }

  /** Rejected with `status`, in the error shape, naming `error` (index, path, message pattern); nothing stored. */
  async function expectRejected(method: Method, url: string, body: unknown, status: number, error: { index?: number; path: string; message?: RegExp }) {
    const before = await h.count('events');
    const response = await call(method, url, body, url === '/v1/events' ? INGEST_KEY : ADMIN_KEY);
    expect(response.status, `${method} ${url} ${JSON.stringify(response.body)}`).toBe(status);
    expectErrorShape(response.body, /^\/v1\/(rules|escalation-policy|funnel)/.test(url) ? ['line', 'column', 'rule', 'stall', 'stage', 'document', 'version'] : []);
    const { message, ...where } = error;
    expect(response.body.errors).toContainEqual(expect.objectContaining({ ...where, message: message ? expect.stringMatching(message) : expect.any(String) }));
    expect(await h.count('events')).toBe(before);
  }

  describe('instants: every one accepted is one PostgreSQL stores (UTC years 0001–9999)', () => {
    const outOfRange = [
      '0000-01-01T00:00:00Z', // year 0: the ISO pattern admits it, PostgreSQL does not
      '0000-02-29T12:00:00Z',
      '0001-01-01T00:30:00+01:00', // 0000-12-31T23:30Z
      '9999-12-31T23:30:00-01:00', // 10000-01-01T00:30Z
    ];

    it.each(['/v1/events', '/v1/import'])('%s: occurredAt out of range is a 400 naming it', async (url) => {
      for (const occurredAt of outOfRange) {
        await expectRejected('POST', url, { events: [event(), event({ id: 'odd-2', occurredAt })] }, 400, {
          index: 1,
          path: 'occurredAt',
          message: /between 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z/,
        });
      }
    });

    it('query instants out of range are a 400 naming the parameter', async () => {
      for (const at of outOfRange) {
        const q = encodeURIComponent(at);
        await expectRejected('GET', `/v1/emails?since=${q}`, undefined, 400, { path: 'since' });
        await expectRejected('GET', `/v1/metrics/conversion?asOf=${q}`, undefined, 400, { path: 'asOf' });
        await expectRejected('GET', `/v1/metrics/ttfac?from=${q}`, undefined, 400, { path: 'from' });
        await expectRejected('GET', `/v1/developers?to=${q}`, undefined, 400, { path: 'to' });
      }
      await expectRejected('GET', '/v1/metrics/sdk?from=0000-01-01', undefined, 400, { path: 'from' });
    });

    it('a handoff cursor carrying an instant out of range is a 400, not a query', async () => {
      const cursor = Buffer.from(JSON.stringify(['0000-01-01T00:00:00Z', 'x'])).toString('base64url');
      await expectRejected('GET', `/v1/handoffs?cursor=${cursor}`, undefined, 400, { path: 'cursor' });
    });

    it('the OpenAPI document states the range (a client and the fuzz see the rule)', async () => {
      const openapi = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
        paths: Record<string, Record<string, { parameters?: { name: string; schema: unknown }[] }>>;
      };
      const since = openapi.paths['/v1/emails']!.get!.parameters!.find((p) => p.name === 'since')!.schema;
      expect(since).toMatchObject({ format: 'date-time', allOf: [{ pattern: expect.stringContaining('(?!0000-') }] });
    });

    it('the edges of the range are accepted and stored as sent', async () => {
      const edges = {
        events: [
          event({ id: 'odd-edge-1', developerId: 'odd-edge', occurredAt: '0001-01-01T00:00:00Z' }),
          event({ id: 'odd-edge-2', developerId: 'odd-edge', occurredAt: '9999-12-31T23:59:59.999Z' }),
        ],
      };
      expect((await call('POST', '/v1/import', edges)).status).toBe(202);
      const { rows } = await h.db.pool.query<{ id: string; at: string }>(
        `SELECT id, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS at FROM events WHERE developer_id = 'odd-edge' ORDER BY id`,
      );
      expect(rows).toEqual([
        { id: 'odd-edge-1', at: '0001-01-01T00:00:00.000' },
        { id: 'odd-edge-2', at: '9999-12-31T23:59:59.999' },
      ]);
      expect((await call('GET', '/v1/emails?since=0001-01-01T00:00:00Z')).status).toBe(200);
      expect((await call('GET', '/v1/metrics/conversion?from=0001-01-01&to=9999-12-31&asOf=9999-12-31T23:59:59.999Z')).status).toBe(200);
    });
  });

  describe('body values are stored as sent or refused at their path', () => {
    it('a lone UTF-16 surrogate, in any value or key, is a 400 naming it (never stored as U+FFFD)', async () => {
      // JSON.stringify writes a lone surrogate as its escape: the text is what a client would send.
      const batch = (second: Record<string, unknown>) => JSON.stringify({ events: [event(), event({ id: 'odd-2', ...second })] });
      const lone = '\ud800';
      await expectRejected('POST', '/v1/events', batch({ developerId: `odd-${lone}` }), 400, { index: 1, path: 'developerId', message: /lone UTF-16 surrogate/ });
      await expectRejected('POST', '/v1/events', batch({ id: lone }), 400, { index: 1, path: 'id', message: /lone UTF-16 surrogate/ });
      await expectRejected('POST', '/v1/events', batch({ properties: { path: 'a\udfffb' } }), 400, { index: 1, path: 'properties.path', message: /lone UTF-16 surrogate/ });
      await expectRejected('POST', '/v1/import', batch({ properties: { path: '/', [`k${lone}`]: 1 } }), 400, {
        index: 1,
        path: `properties.k${lone}`,
        message: /key must not contain a lone/,
      });
      expect(batch({ id: lone })).toContain('"id":"\\ud800"');
      // A lone surrogate in the YAML source of a config document.
      await expectRejected('POST', '/v1/rules/validate', { source: `rules: []  # ${lone}` }, 400, { path: 'source', message: /lone UTF-16 surrogate/ });
    });

    it('NUL in a query or path parameter is a 400 naming it, before any statement runs', async () => {
      await expectRejected('GET', '/v1/metrics/conversion?orgId=a%00b', undefined, 400, { path: 'orgId', message: /NUL/ });
      await expectRejected('GET', '/v1/emails?developerId=%00', undefined, 400, { path: 'developerId', message: /NUL/ });
      await expectRejected('GET', '/v1/developers/a%00b/journey', undefined, 400, { path: 'id', message: /NUL/ });
      await expectRejected('GET', '/v1/audit?a%00=1', undefined, 400, { path: 'a\u0000', message: /NUL/ });
    });

    it('a surrogate pair (a character outside the BMP) is kept as sent', async () => {
      const developerId = 'odd-\ud83d\ude00';
      expect((await call('POST', '/v1/events', { events: [event({ id: 'odd-pair', developerId })] }, INGEST_KEY)).status).toBe(202);
      const { rows } = await h.db.pool.query<{ developer_id: string }>(`SELECT developer_id FROM events WHERE id = 'odd-pair'`);
      expect(rows).toEqual([{ developer_id: developerId }]);
    });

    it('a number beyond a double (1e309 parses as Infinity, stored as null) is a 400 naming it', async () => {
      const text = JSON.stringify({ events: [event({ properties: { path: '/docs', big: 'BIG' } })] });
      await expectRejected('POST', '/v1/events', text.replace('"BIG"', '1e309'), 400, { index: 0, path: 'properties.big', message: /double/ });
      await expectRejected('POST', '/v1/events', text.replace('"BIG"', '[1, -1e400]'), 400, { index: 0, path: 'properties.big.1', message: /double/ });
    });

    it('prototype-poisoning keys are a 400 naming them', async () => {
      const text = JSON.stringify({ events: [event({ properties: { path: '/docs', KEY: { polluted: true } } })] });
      await expectRejected('POST', '/v1/events', text.replace('"KEY"', '"__proto__"'), 400, { index: 0, path: 'properties.__proto__', message: /prototype/ });
      await expectRejected('POST', '/v1/events', text.replace('"KEY":{"polluted":true}', '"constructor":{"prototype":{"polluted":true}}'), 400, {
        index: 0,
        path: 'properties.constructor.prototype',
        message: /prototype/,
      });
      await expectRejected('PUT', '/v1/rules', '{"source":"x","author":"a","reason":"r","__proto__":{"admin":true}}', 400, { path: '__proto__', message: /prototype/ });
    });

    it('every JSON body the OpenAPI document closes (additionalProperties: false) refuses an unknown key, naming it', async () => {
      type Operation = { requestBody?: { content?: Record<string, { schema?: { additionalProperties?: unknown } }> } };
      const openapi = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, Operation>> };
      const closed = Object.entries(openapi.paths).flatMap(([path, operations]) =>
        Object.entries(operations)
          .filter(([, operation]) => operation.requestBody?.content?.['application/json']?.schema?.additionalProperties === false)
          .map(([method]) => [method.toUpperCase() as Method, path.replace(/\{[^}]+\}/g, 'odd-dev')] as const),
      );
      expect(closed.map(([method, path]) => `${method} ${path}`)).toEqual(
        expect.arrayContaining(['POST /v1/rules/validate', 'POST /v1/escalation-policy/validate', 'PUT /v1/rules', 'POST /v1/ingest-keys']),
      );
      for (const [method, path] of closed) {
        await expectRejected(method, path, { zz_unknown: 1 }, 400, { path: 'zz_unknown', message: /unknown field "zz_unknown"/ });
      }
    });

    it('an unknown key where none is allowed is a 400 naming that key', async () => {
      await expectRejected('POST', '/v1/ingest-keys', { source: 'gateway', author: 'a', reason: 'r', extra: 1, other: 2 }, 400, {
        path: 'extra',
        message: /unknown field "extra"/,
      });
      await expectRejected('POST', '/v1/ingest-keys', { source: 'gateway', author: 'a', reason: 'r', extra: 1, other: 2 }, 400, {
        path: 'other',
        message: /unknown field "other"/,
      });
      expect(await h.count('ingest_keys')).toBe(0);
    });
  });

  describe('YAML documents: bounded, and every failure a 400', () => {
    const letters = 'abcdefghij';
    /** Ten levels of nine aliases: 9^10 nodes from a few hundred bytes. */
    const aliasBomb = [`a: &a [${Array(9).fill('"lol"').join(',')}]`, ...[...letters.slice(1)].map((l, i) => `${l}: &${l} [${Array(9).fill(`*${letters[i]}`).join(',')}]`)].join(
      '\n',
    );
    const endpoints: [Method, string, (source: string) => unknown][] = [
      ['POST', '/v1/rules/validate', (source) => ({ source })],
      ['PUT', '/v1/rules', (source) => ({ source, author: 'mallory', reason: 'bomb' })],
      ['POST', '/v1/escalation-policy/validate', (source) => ({ source })],
      ['PUT', '/v1/escalation-policy', (source) => ({ source, author: 'mallory', reason: 'bomb' })],
      ['POST', '/v1/funnel/validate', (source) => ({ source })],
      ['PUT', '/v1/funnel', (source) => ({ source, author: 'mallory', reason: 'bomb' })],
      ['PUT', '/v1/funnel', (source) => ({ source: 'stages: []', author: 'mallory', reason: 'bomb', rules: { source } })],
    ];

    it('an alias bomb is a 400 at the alias', async () => {
      for (const [method, url, body] of endpoints) {
        await expectRejected(method, url, body(aliasBomb), 400, { path: '', message: /aliases expand/ });
      }
    });

    it('deep nesting is a 400, however often it is sent (a stack overflow in the composer once broke V8 for the next one)', async () => {
      for (const source of ['['.repeat(1000), '['.repeat(1000), `${'- '.repeat(5000)}x`, `rules:\n${'  {a: '.repeat(100)}`]) {
        for (const [method, url, body] of endpoints) await expectRejected(method, url, body(source), 400, { path: '', message: /nested deeper than 64 levels/ });
      }
      expect(await h.count('rule_versions')).toBe(1);
      expect(await h.count('escalation_policy_versions')).toBe(1);
      expect(await h.count('funnel_versions')).toBe(1);
    });
  });

  describe('errors answered before a route runs keep the error shape and never quote the URL', () => {
    const secret = 'tok3n-s3cret';
    const requests: [name: string, method: 'GET' | 'POST' | 'PUT', url: string, status: number, init?: { body?: string; contentType?: string }][] = [
      ['a path that is not UTF-8', 'GET', `/v1/developers/%ff/journey?token=${secret}`, 400],
      ['a percent-encoded lone surrogate in the path', 'GET', `/v1/developers/%ED%A0%80/journey?token=${secret}`, 400],
      ['a path segment over the router limit', 'GET', `/v1/developers/${secret}${'x'.repeat(5000)}/journey`, 414],
      ['an unknown path', 'GET', `/v1/nowhere?token=${secret}`, 404],
      ['a known path with another method', 'PUT', `/v1/events?token=${secret}`, 405],
      ['a body that is not JSON', 'POST', `/v1/events?token=${secret}`, 415, { body: 'a=1', contentType: 'application/x-www-form-urlencoded' }],
      ['an empty JSON body', 'POST', `/v1/events?token=${secret}`, 400, { body: '', contentType: 'application/json' }],
      ['malformed JSON', 'POST', `/v1/events?token=${secret}`, 400, { body: '{"events":[', contentType: 'application/json' }],
      ['a body over 1 MiB', 'POST', `/v1/events?token=${secret}`, 413, { body: JSON.stringify({ x: 'x'.repeat(1024 * 1024) }), contentType: 'application/json' }],
      ['no key', 'GET', `/v1/emails?token=${secret}`, 401],
    ];

    it.each(requests)('%s', async (_name, method, url, status, init) => {
      const response = await h.app.inject({
        method,
        url,
        headers: { ...(url.startsWith('/v1/emails') ? {} : { authorization: `Bearer ${INGEST_KEY}` }), ...(init?.contentType ? { 'content-type': init.contentType } : {}) },
        ...(init?.body !== undefined ? { payload: init.body } : {}),
      });
      expect(response.statusCode).toBe(status);
      expectErrorShape(response.json());
      expect(response.body).not.toContain(secret);
    });

    it('requests Node cannot parse (headers too large, a broken request line) on a real socket', async () => {
      const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = new URL(address);
      const raw = (request: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(Number(port), '127.0.0.1', () => socket.end(request));
          let text = '';
          socket.on('data', (chunk) => (text += chunk.toString()));
          socket.on('close', () => resolve(text));
          socket.on('error', reject);
        });
      for (const [request, status] of [
        [`GET /v1/emails?token=${secret}${'x'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431],
        [`GET /v1/emails?token=${secret} HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`, 431],
        [`BROKEN\r\n\r\n`, 400],
      ] as const) {
        const response = await raw(request);
        expect(response).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
        expectErrorShape(JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)));
        expect(response).not.toContain(secret);
      }
    });
  });

  it('after all of it, a valid batch is accepted and nothing of the hostile ones was stored', async () => {
    expect(await h.count("events WHERE id LIKE 'odd-%' AND id NOT IN ('odd-edge-1', 'odd-edge-2', 'odd-pair')")).toBe(0);
    expect((await call('POST', '/v1/events', { events: [event({ id: 'odd-final' })] }, INGEST_KEY)).status).toBe(202);
    expect((await call('POST', '/v1/rules/validate', { source: 'rules: []' })).status).toBeLessThan(500);
  });
});
