import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

const INGEST_KEY = 'auth0-ingest-key-0123456789';
const ADMIN_KEY = 'auth0-admin-key-01234567890';
const delivery = readFileSync(new URL('../fixtures/auth0/log-stream-array.json', import.meta.url), 'utf8');
const records = JSON.parse(delivery) as { log_id: string; data: Record<string, unknown> }[];

/**
 * An Auth0 Custom Webhook log stream: a successful signup (`ss`) or login (`s`) is the user's
 * signup, idempotent by the log id, in any of the stream's content formats; other records are
 * acknowledged and skipped; a record Onramp cannot read refuses the delivery whole.
 */
describe.each(databaseBackends())('/v1/sources/auth0 (%s)', (backend) => {
  let t: TestApp;
  const post = (body: string, { key = INGEST_KEY, type = 'application/json' } = {}) =>
    t.app.inject({ method: 'POST', url: '/v1/sources/auth0', headers: { authorization: `Bearer ${key}`, 'content-type': type }, payload: body });
  const developer = async (id: string) => (await t.db.pool.query('SELECT email, account_type, acquisition_channel, signed_up_at FROM developers WHERE id = $1', [id])).rows[0];
  const storedTypes = async () => (await t.db.pool.query(`SELECT id, type FROM events WHERE id LIKE 'auth0:%' ORDER BY id`)).rows;

  beforeAll(async () => {
    t = await startTestApp(backend, { keys: { ingest: INGEST_KEY, admin: ADMIN_KEY } });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('signs up the users of successful signups and logins (JSON array), skips the rest, and is idempotent by log id', async () => {
    const first = await post(delivery);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ accepted: 2, duplicates: 0, ignored: [] });
    expect(await developer('auth0|656995a8f2c1d0a1b2c3d4e5')).toEqual({
      email: 'ada@example.com',
      account_type: 'individual',
      acquisition_channel: 'other',
      signed_up_at: new Date('2026-12-01T09:15:12.345Z'),
    });
    expect(await developer('github|1234567')).toMatchObject({ email: 'grace@example.com' });
    // The failed login is not stored.
    expect((await storedTypes()).map((r) => r.id)).toEqual([`auth0:${records[0]!.log_id}`, `auth0:${records[2]!.log_id}`]);
    expect((await post(delivery)).json()).toEqual({ accepted: 0, duplicates: 2, ignored: [] });
  });

  it('takes JSON lines as well, and says which signup records it could not use', async () => {
    const lines = [
      { log_id: 'lines-1', data: { date: '2026-12-02T10:00:00Z', type: 'ss', user_id: 'auth0|lines', user_name: 'lin@example.com' } },
      { log_id: 'lines-2', data: { date: '2026-12-02T10:01:00Z', type: 'ss', user_id: 'auth0|noemail', user_name: 'Lin Social' } },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n');
    const response = await post(lines);
    expect(response.json()).toEqual({ accepted: 1, duplicates: 0, ignored: [{ path: '[1]', message: 'user_name is not an email address' }] });
    expect(await developer('auth0|lines')).toMatchObject({ email: 'lin@example.com' });
    expect(await developer('auth0|noemail')).toBeUndefined();
  });

  it('refuses a delivery with a record it cannot read, naming it, and stores nothing of it; 401 without an ingest key', async () => {
    const bad = JSON.stringify([
      { log_id: 'bad-1', data: { date: '2026-12-03T10:00:00Z', type: 'ss', user_id: 'auth0|good', user_name: 'good@example.com' } },
      { log_id: 'bad-2', data: { date: 'yesterday', type: 'ss', user_id: 'auth0|bad', user_name: 'bad@example.com' } },
    ]);
    const refused = await post(bad);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().errors).toEqual([expect.objectContaining({ path: '[1].data.date' })]);
    expect(await developer('auth0|good')).toBeUndefined();
    expect((await post('not json at all')).statusCode).toBe(400);
    expect((await post(delivery, { key: 'wrong-key-0123456789abcdef' })).statusCode).toBe(401);
  });

  it('is counted in GET /v1/sources', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/v1/sources', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const auth0 = (response.json().sources as { source: string }[]).find((s) => s.source === 'auth0');
    expect(auth0).toMatchObject({ accepted: 3, duplicates: 2, lastError: { message: '401 authorization: invalid key' } }); // the latest error
  });
});
