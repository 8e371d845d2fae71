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

    const events = await stored('/ex/');
    expect(events.map((e) => [e.developer_id, (e.properties as any).endpoint, (e.properties as any).method, (e.properties as any).status, (e.properties as any).mode])).toEqual([
      // No route matched: the path, without its query.
      ['dev_alpha', '/ex/v1/nowhere', 'GET', 404, 'test'],
      ['dev_beta', '/ex/v1/users', 'POST', 201, 'live'],
      ['dev_alpha', '/ex/v1/users/:id', 'GET', 200, 'test'],
      ['dev_alpha', '/ex/v1/users/:id', 'GET', 200, 'test'],
    ]);
    expect(events[2]!.properties).toMatchObject({ apiKey: 'sk_test_alpha', userAgent: 'acme-sdk/2.1' });
    for (const e of events) expect((e.properties as any).latencyMs).toBeGreaterThanOrEqual(0);
    expect(recorder.stats()).toMatchObject({ accepted: 4, duplicates: 0, unattributed: 1, dropped: 0, failed: 0, queued: 0, inFlight: 0 });
  });
});
