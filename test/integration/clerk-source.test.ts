import { readFileSync } from 'node:fs';
import { Webhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

const INGEST_KEY = 'clerk-ingest-key-0123456789';
const ADMIN_KEY = 'clerk-admin-key-01234567890';
const SECRET = `whsec_${Buffer.from('clerk-test-signing-secret-32-bytes').toString('base64')}`;
/** Clerk's documented user.created example (test/fixtures/clerk/README.md). */
const userCreated = JSON.parse(readFileSync(new URL('../fixtures/clerk/user-created.json', import.meta.url), 'utf8')) as { data: Record<string, unknown>; type: string };

/**
 * Clerk's webhooks through Svix: a delivery signed with the endpoint's secret (by the svix library,
 * as Svix signs) is verified over its raw body; user.created becomes the developer's signup,
 * idempotent by the Svix message id; anything unsigned, tampered with or stale is a 401 and stores
 * nothing.
 */
describe.each(databaseBackends())('/v1/sources/clerk (%s)', (backend) => {
  let t: TestApp;
  let unconfigured: TestApp;
  const signer = new Webhook(SECRET);

  const deliver = (body: unknown, { svixId = 'msg_2Fz1', at = new Date(), app = () => t, tamper = (raw: string) => raw } = {}) => {
    const raw = JSON.stringify(body);
    const signature = signer.sign(svixId, at, raw);
    return app().app.inject({
      method: 'POST',
      url: '/v1/sources/clerk',
      headers: { 'content-type': 'application/json', 'svix-id': svixId, 'svix-timestamp': String(Math.floor(at.getTime() / 1000)), 'svix-signature': signature },
      payload: tamper(raw),
    });
  };
  const developer = async (id: string) =>
    (await t.db.pool.query('SELECT email, account_type, acquisition_channel, org_id, timezone, name, locale, signed_up_at FROM developers WHERE id = $1', [id])).rows[0];
  const stored = async (id: string) => (await t.db.pool.query('SELECT type, developer_id FROM events WHERE id = $1', [id])).rows;

  beforeAll(async () => {
    t = await startTestApp(backend, { keys: { ingest: INGEST_KEY, admin: ADMIN_KEY }, clerkSigningSecret: SECRET });
    unconfigured = await startTestApp(backend, { keys: { ingest: INGEST_KEY, admin: ADMIN_KEY } });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await unconfigured?.close();
  });

  it("makes Clerk's user.created the developer's signup, once however often Svix delivers it", async () => {
    const first = await deliver(userCreated);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ accepted: 1, duplicates: 0 });
    // The developer is your external_id; Clerk knows no account type or channel: individual, other.
    expect(await developer('567772')).toEqual({
      email: 'example@example.org',
      account_type: 'individual',
      acquisition_channel: 'other',
      org_id: null,
      timezone: null,
      // Clerk's first and last names: emails greet by the first.
      name: 'Example Example',
      locale: null,
      signed_up_at: new Date(1654012591514),
    });
    expect(await stored('clerk:msg_2Fz1')).toEqual([{ type: 'developer.signed_up', developer_id: '567772' }]);
    expect((await t.db.pool.query(`SELECT stage FROM stage_evidence WHERE developer_id = '567772'`)).rows).toEqual([{ stage: 'account_created' }]);

    const again = await deliver(userCreated);
    expect(again.json()).toEqual({ accepted: 0, duplicates: 1 });
  });

  it("takes the profile from the user's metadata where it holds valid values, and Clerk's user id without an external_id", async () => {
    const user = structuredClone(userCreated);
    user.data = {
      ...user.data,
      id: 'user_meta',
      external_id: null,
      public_metadata: { accountType: 'organization', orgId: 'org_acme' },
      unsafe_metadata: { acquisitionChannel: 'listing_site', timezone: 'Europe/Paris', accountType: 'nonsense', locale: 'fr_FR' },
    };
    expect((await deliver(user, { svixId: 'msg_meta' })).json()).toEqual({ accepted: 1, duplicates: 0 });
    expect(await developer('user_meta')).toMatchObject({
      account_type: 'organization',
      org_id: 'org_acme',
      acquisition_channel: 'listing_site',
      timezone: 'Europe/Paris',
      locale: 'fr-FR',
    });
  });

  it('refuses a tampered, stale or unsigned delivery with a 401, and stores nothing', async () => {
    const tampered = await deliver(userCreated, { svixId: 'msg_tampered', tamper: (raw) => raw.replace('example@example.org', 'mallory@example.org') });
    expect(tampered.statusCode).toBe(401);
    expect(tampered.json().errors[0]).toMatchObject({ path: 'svix-signature' });
    const stale = await deliver(userCreated, { svixId: 'msg_stale', at: new Date(Date.now() - 10 * 60_000) });
    expect(stale.statusCode).toBe(401);
    const unsigned = await t.app.inject({ method: 'POST', url: '/v1/sources/clerk', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(userCreated) });
    expect(unsigned.statusCode).toBe(401);
    const noSecret = await deliver(userCreated, { svixId: 'msg_nosecret', app: () => unconfigured });
    expect(noSecret.statusCode).toBe(401);
    expect(noSecret.json().errors[0].message).toMatch(/ONRAMP_CLERK_WEBHOOK_SECRET/);
    for (const id of ['msg_tampered', 'msg_stale', 'msg_nosecret']) expect(await stored(`clerk:${id}`)).toEqual([]);
  });

  it('acknowledges the other event types without storing them, and refuses a user.created it cannot read, naming the field', async () => {
    expect((await deliver({ ...userCreated, type: 'user.updated' }, { svixId: 'msg_updated' })).json()).toEqual({ accepted: 0, duplicates: 0 });
    expect(await stored('clerk:msg_updated')).toEqual([]);
    const noEmail = structuredClone(userCreated);
    noEmail.data = { ...noEmail.data, id: 'user_noemail', external_id: null, email_addresses: [] };
    const refused = await deliver(noEmail, { svixId: 'msg_noemail' });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().errors).toEqual([expect.objectContaining({ path: 'properties.email' })]);
    expect(await developer('user_noemail')).toBeUndefined();
  });

  it('is counted in GET /v1/sources', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/v1/sources', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const clerk = (response.json().sources as { source: string }[]).find((s) => s.source === 'clerk');
    expect(clerk).toMatchObject({ accepted: 2, duplicates: 1, lastError: { message: expect.stringMatching(/^400 properties\.email/) } });
  });
});
