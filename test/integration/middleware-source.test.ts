import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnrampRecorder, onrampExpress, onrampFastify, withOnramp, type ShipError } from '../../packages/onramp-node/src/index.ts';
import { eventually } from '../support/eventually.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

const INGEST_KEY = 'middleware-ingest-key-0123456';
const ADMIN_KEY = 'middleware-admin-key-01234567';

/** Listens on a free port; the server's base URL. */
async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

/**
 * The @onramp/node package in real host apps (Express 5, Fastify, plain node:http) shipping to a
 * real Onramp API over HTTP: the stored `api.request` events (route templates, status, latency,
 * mode, attribution by key through `api_key.created` or by developer id), the `middleware` source
 * in GET /v1/sources, retries through an outage with every event stored once, a refused key not
 * retried, memory bounded while Onramp is down, and a hung Onramp that delays no host response.
 * The package does not depend on Onramp's database: one backend is enough.
 */
describe.each(databaseBackends().slice(0, 1))('@onramp/node middleware → POST /v1/events (%s)', (backend) => {
  let t: TestApp;
  let onrampUrl: string;
  let ingestKey: string;
  const servers: Server[] = [];

  const rows = async (sql: string, ...params: unknown[]) => (await t.db.pool.query(sql, params)).rows as Record<string, unknown>[];
  /** The stored middleware events whose endpoint starts with `prefix`, by endpoint and time. */
  const stored = (prefix: string) =>
    rows(
      `SELECT developer_id, properties FROM events WHERE id LIKE 'mw:%' AND properties->>'endpoint' LIKE $1 || '%' ORDER BY properties->>'endpoint', properties->>'method', occurred_at`,
      prefix,
    );
  const host = async (server: Server) => {
    servers.push(server);
    return listen(server);
  };
  const recorderFor = (options: Partial<ConstructorParameters<typeof OnrampRecorder>[0]> = {}) =>
    new OnrampRecorder({ url: onrampUrl, ingestKey, flushIntervalMs: 60_000, ...options });

  beforeAll(async () => {
    t = await startTestApp(backend, { keys: { ingest: INGEST_KEY, admin: ADMIN_KEY } });
    onrampUrl = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/ingest-keys',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { source: 'middleware', author: 'middleware test' },
    });
    ingestKey = created.json().key;
    // The dashboard's key creations: the join that attributes requests by key.
    const keys = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${INGEST_KEY}` },
      payload: {
        events: [
          { id: 'key-alpha', type: 'api_key.created', developerId: 'dev_alpha', occurredAt: '2026-12-01T00:00:00Z', properties: { apiKey: 'sk_test_alpha', mode: 'test' } },
          { id: 'key-beta', type: 'api_key.created', developerId: 'dev_beta', occurredAt: '2026-12-01T00:00:00Z', properties: { apiKey: 'sk_live_beta', mode: 'live' } },
        ],
      },
    });
    expect(keys.statusCode, keys.body).toBe(202);
  }, 120_000);
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    await t?.close();
  });

  it('Express: route templates under their router, status, latency, mode from the key, attribution through the key; unattributable requests skipped', async () => {
    const recorder = recorderFor();
    const app = express();
    app.use(onrampExpress(recorder));
    const users = express.Router();
    users.get('/users/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    users.post('/users', (_req, res) => {
      res.status(201).json({});
    });
    app.use('/ex/v1', users);
    const url = await host(createServer(app));

    const alpha = { authorization: 'Bearer sk_test_alpha', 'user-agent': 'acme-sdk/2.1' };
    expect((await fetch(`${url}/ex/v1/users/42?expand=org`, { headers: alpha })).status).toBe(200);
    expect((await fetch(`${url}/ex/v1/users/43`, { headers: alpha })).status).toBe(200);
    expect((await fetch(`${url}/ex/v1/users`, { method: 'POST', headers: { 'x-api-key': 'sk_live_beta' } })).status).toBe(201);
    expect((await fetch(`${url}/ex/v1/nowhere?x=1`, { headers: alpha })).status).toBe(404);
    expect((await fetch(`${url}/ex/v1/users/44`)).status).toBe(200); // no key, no developer: Onramp could not attribute it
    await recorder.close();

    const summary = (e: Record<string, unknown>) => [e.developer_id, ...['endpoint', 'method', 'status', 'mode'].map((k) => (e.properties as Record<string, unknown>)[k])];
    // No route matched: one endpoint for every such path, not the path (a new endpoint per guessed id).
    expect((await stored('(unmatched)')).map(summary)).toEqual([['dev_alpha', '(unmatched)', 'GET', 404, 'test']]);
    const events = await stored('/ex/');
    expect(events.map(summary)).toEqual([
      ['dev_beta', '/ex/v1/users', 'POST', 201, 'live'],
      ['dev_alpha', '/ex/v1/users/:id', 'GET', 200, 'test'],
      ['dev_alpha', '/ex/v1/users/:id', 'GET', 200, 'test'],
    ]);
    expect(events[1]!.properties).toMatchObject({ apiKey: 'sk_test_alpha', userAgent: 'acme-sdk/2.1' });
    for (const e of events) expect((e.properties as any).latencyMs).toBeGreaterThanOrEqual(0);
    expect(recorder.stats()).toMatchObject({ accepted: 4, duplicates: 0, unattributed: 1, dropped: 0, failed: 0, queued: 0, inFlight: 0 });
  });

  it('Fastify: the plugin applies app-wide, templates with their prefix; attribution by the developer id the host knows', async () => {
    const recorder = recorderFor();
    const app = Fastify();
    await app.register(onrampFastify, { recorder, developerId: (request) => request.headers['x-developer'] as string | undefined });
    await app.register(
      async (child) => {
        child.get('/items/:id', async () => ({ ok: true }));
        child.delete('/items/:id', async (_request, reply) => reply.code(409).send({ error: 'in use' }));
      },
      { prefix: '/fy/v2' },
    );
    servers.push(app.server);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });

    expect((await fetch(`${url}/fy/v2/items/7`, { headers: { 'x-developer': 'dev_gamma' } })).status).toBe(200);
    expect((await fetch(`${url}/fy/v2/items/8`, { method: 'DELETE', headers: { authorization: 'Bearer sk_test_alpha' } })).status).toBe(409);
    await recorder.close();

    const events = await stored('/fy/');
    expect(events.map((e) => [e.developer_id, (e.properties as any).endpoint, (e.properties as any).method, (e.properties as any).status, (e.properties as any).mode])).toEqual([
      ['dev_alpha', '/fy/v2/items/:id', 'DELETE', 409, 'test'],
      ['dev_gamma', '/fy/v2/items/:id', 'GET', 200, 'live'],
    ]);
    expect((events[1]!.properties as any).apiKey).toBeUndefined();
    for (const e of events) expect((e.properties as any).latencyMs).toBeGreaterThanOrEqual(0);
    await app.close();
  });

  it('node:http: the template from the route function, sent by the interval (idle ticks before); GET /v1/sources counts every shipped batch under middleware', async () => {
    const recorder = recorderFor({ flushIntervalMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const url = await host(
      createServer(
        withOnramp(
          recorder,
          (request, response) => {
            response.writeHead(request.method === 'PUT' ? 204 : 200).end();
          },
          { route: (request) => (request.url?.startsWith('/ht/orders/') ? '/ht/orders/:id' : (request.url ?? '/')) },
        ),
      ),
    );
    expect((await fetch(`${url}/ht/orders/991`, { method: 'PUT', headers: { authorization: 'Bearer sk_live_beta' } })).status).toBe(204);
    await eventually(() => expect(recorder.stats().accepted).toBe(1), { describe: 'the interval sent the request' });
    await recorder.close();

    const events = await stored('/ht/');
    expect(events.map((e) => [e.developer_id, (e.properties as any).endpoint, (e.properties as any).method, (e.properties as any).status, (e.properties as any).mode])).toEqual([
      ['dev_beta', '/ht/orders/:id', 'PUT', 204, 'live'],
    ]);
    const response = await t.app.inject({ method: 'GET', url: '/v1/sources', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const sources = Object.fromEntries((response.json().sources as { source: string }[]).map((s) => [s.source, s])) as Record<string, any>;
    const [{ n }] = (await rows(`SELECT count(*)::int AS n FROM events WHERE id LIKE 'mw:%'`)) as [{ n: number }];
    expect(sources.middleware).toMatchObject({ accepted: n, duplicates: 0, rejected: 0, lastError: null });
    expect(sources.middleware.lastReceivedAt).not.toBeNull();
    // Only the key creations came through POST /v1/events without the header.
    expect(sources.events).toMatchObject({ accepted: 2 });
  });

  it('retries through an outage (an answer lost after storing, then 503s with Retry-After): every request stored exactly once', async () => {
    let deliveries = 0;
    const flaky = await host(
      createServer(async (request, response) => {
        const body = await bodyOf(request);
        const n = ++deliveries;
        if (n === 2 || n === 3) {
          response.writeHead(503, { 'retry-after': '0', 'content-type': 'application/json' }).end('{"errors":[{"path":"","message":"database unavailable"}]}');
          return;
        }
        const upstream = await fetch(`${onrampUrl}${request.url}`, {
          method: 'POST',
          headers: { authorization: request.headers.authorization!, 'content-type': 'application/json', 'x-onramp-source': 'middleware' },
          body,
        });
        const answer = await upstream.text();
        // The first delivery is stored, but its answer never reaches the recorder.
        if (n === 1) response.destroy();
        else response.writeHead(upstream.status, { 'content-type': 'application/json' }).end(answer);
      }),
    );
    const errors: ShipError[] = [];
    const recorder = recorderFor({ url: flaky, batchSize: 10, minBackoffMs: 10, maxBackoffMs: 50, onError: (e) => errors.push(e) });
    const url = await host(createServer(withOnramp(recorder, (_request, response) => response.end('ok'), { route: () => '/retry/:n' })));
    for (let i = 0; i < 25; i++) expect((await fetch(`${url}/retry/${i}`, { headers: { authorization: 'Bearer sk_test_alpha' } })).status).toBe(200);
    await recorder.flush();

    expect(await rows(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM events WHERE properties->>'endpoint' = '/retry/:n'`)).toEqual([{ n: 25, ids: 25 }]);
    const stats = recorder.stats();
    expect(stats.accepted + stats.duplicates).toBe(25);
    expect(stats.duplicates).toBeGreaterThan(0); // the first batch, stored before its answer was lost
    expect(stats).toMatchObject({ retries: 3, failed: 0, dropped: 0, queued: 0 });
    expect(errors.map((e) => [e.status, e.willRetry])).toEqual([
      [undefined, true],
      [503, true],
      [503, true],
    ]);
    expect(errors[1]!.message).toBe('503 database unavailable');
    await recorder.close();
  });

  it('a batch over Onramp’s 1 MiB body limit is sent in parts, all of it stored', async () => {
    const recorder = recorderFor({ batchSize: 1_000 });
    const long = { endpoint: `/big/${'e'.repeat(500)}`, userAgent: 'u'.repeat(1024), apiKey: `sk_live_${'k'.repeat(240)}` };
    for (let i = 0; i < 1_000; i++) recorder.record({ ...long, method: 'GET', status: 200, startedAt: Date.now(), latencyMs: 1, mode: 'live' });
    await recorder.flush();
    expect(recorder.stats()).toMatchObject({ accepted: 1_000, failed: 0, retries: 0 });
    expect(await rows(`SELECT count(*)::int AS n FROM events WHERE properties->>'endpoint' LIKE '/big/%'`)).toEqual([{ n: 1_000 }]);
    await recorder.close();
  });

  it('a 429 is retried no sooner than its Retry-After', async () => {
    const arrivals: number[] = [];
    const limited = await host(
      createServer(async (request, response) => {
        const body = await bodyOf(request);
        arrivals.push(performance.now());
        if (arrivals.length === 1) {
          response.writeHead(429, { 'retry-after': '1' }).end();
          return;
        }
        const upstream = await fetch(`${onrampUrl}${request.url}`, {
          method: 'POST',
          headers: { authorization: request.headers.authorization!, 'content-type': 'application/json' },
          body,
        });
        response.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text());
      }),
    );
    const recorder = recorderFor({ url: limited, minBackoffMs: 1, maxBackoffMs: 5_000, onError: () => undefined });
    recorder.record({ endpoint: '/limited', method: 'GET', status: 200, startedAt: Date.now(), latencyMs: 1, mode: 'live', apiKey: 'sk_live_beta' });
    await recorder.flush();
    expect(arrivals).toHaveLength(2);
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(950);
    expect(recorder.stats()).toMatchObject({ accepted: 1, retries: 1 });
    await recorder.close();
  });

  it('a batch Onramp refuses (a wrong ingest key) is given up at once, not retried', async () => {
    const errors: ShipError[] = [];
    const recorder = recorderFor({ ingestKey: 'not-a-key', minBackoffMs: 10, onError: (e) => errors.push(e) });
    recorder.record({ endpoint: '/refused', method: 'GET', status: 200, startedAt: Date.now(), latencyMs: 1, mode: 'live', apiKey: 'sk_live_beta' });
    await recorder.flush();
    expect(errors).toEqual([{ status: 401, message: '401 authorization: invalid key', events: 1, willRetry: false }]);
    expect(recorder.stats()).toMatchObject({ failed: 1, retries: 0, accepted: 0 });
    await recorder.close();
  });

  it('memory stays bounded while Onramp is down: the queue holds maxQueue, one batch waits for its retry, the rest is dropped and counted', async () => {
    // A port nothing listens on any more: every attempt is refused.
    const down = createServer();
    const closedPort = await listen(down);
    await new Promise<void>((resolve) => down.close(() => resolve()));
    const recorder = recorderFor({ url: closedPort, maxQueue: 10, batchSize: 5, minBackoffMs: 5_000, maxBackoffMs: 5_000, maxRetries: 100, onError: () => undefined });
    const app = express();
    app.use(onrampExpress(recorder));
    app.get('/mem/:i', (_req, res) => {
      res.send('ok');
    });
    const url = await host(createServer(app));
    for (let i = 0; i < 30; i++) expect((await fetch(`${url}/mem/${i}`, { headers: { authorization: 'Bearer sk_live_beta' } })).status).toBe(200);

    await eventually(() => expect(recorder.stats().retries).toBeGreaterThan(0), { describe: 'the first batch failed once' });
    expect(recorder.stats()).toMatchObject({ queued: 10, inFlight: 5, dropped: 15, accepted: 0 });
    const closing = Date.now();
    await recorder.close(100);
    expect(Date.now() - closing).toBeLessThan(2_000);
    // Closed: what is recorded now is dropped, not queued.
    recorder.record({ endpoint: '/mem/late', method: 'GET', status: 200, startedAt: Date.now(), latencyMs: 1, mode: 'live', apiKey: 'sk_live_beta' });
    expect(recorder.stats()).toMatchObject({ queued: 10, dropped: 16 });
  });

  it('a hung Onramp delays no host response: requests are answered while the batch is pending', async () => {
    const pending: IncomingMessage[] = [];
    const hung = await host(createServer((request) => void pending.push(request)));
    const recorder = recorderFor({ url: hung, batchSize: 1, requestTimeoutMs: 60_000, onError: () => undefined });
    const url = await host(createServer(withOnramp(recorder, (_request, response) => response.end('ok'), { route: () => '/hung' })));

    expect((await fetch(`${url}/first`, { headers: { authorization: 'Bearer sk_live_beta' } })).status).toBe(200);
    await eventually(() => expect(pending).toHaveLength(1), { describe: 'the first batch reached the hung Onramp' });
    const took: number[] = [];
    for (let i = 0; i < 20; i++) {
      const start = performance.now();
      expect((await fetch(`${url}/next`, { headers: { authorization: 'Bearer sk_live_beta' } })).status).toBe(200);
      took.push(performance.now() - start);
    }
    expect(Math.max(...took)).toBeLessThan(250);
    // Still one request in flight, the others queued behind it.
    expect(pending).toHaveLength(1);
    expect(recorder.stats()).toMatchObject({ inFlight: 1, queued: 20 });
    const closing = Date.now();
    await recorder.close(100);
    expect(Date.now() - closing).toBeLessThan(2_000);
  });
});
