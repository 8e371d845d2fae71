import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OnrampApp } from '../../src/api/build-app.ts';
import type { Database } from '../../src/db/database.ts';
import { RuleStore } from '../../src/rules/rule-store.ts';
import { runOnramp } from '../support/onramp-cli.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

const ENV_INGEST_KEY = 'keys-test-env-ingest-key-0123';
const ADMIN_KEY = 'keys-test-admin-key-0123456789';
const RULES_FILE = fileURLToPath(new URL('../../config/rules.yaml', import.meta.url));

describe.each(databaseBackends())('ingest keys per source and the audit trail (%s)', (backend) => {
  let testApp: TestApp;
  let db: Database;
  let app: OnrampApp;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'onramp-keys-'));

  beforeAll(async () => {
    testApp = await startTestApp(backend, { keys: { ingest: ENV_INGEST_KEY, admin: ADMIN_KEY }, keyCacheMs: 0 });
    ({ db, app } = testApp);
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await testApp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // Each test starts with no stored key, rules version or audit entry.
  beforeEach(async () => {
    await db.pool.query('DELETE FROM audit_log');
    await db.pool.query('DELETE FROM ingest_keys');
    await db.pool.query('DELETE FROM rule_versions');
  });

  const call = (method: 'GET' | 'POST', path: string, key: string, body?: unknown) =>
    app.inject({
      method,
      url: path,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { payload: JSON.stringify(body) } : {}),
    });
  const signup = (id: string) => ({
    id,
    type: 'developer.signed_up',
    developerId: `dev-${id}`,
    occurredAt: '2026-11-01T10:00:00Z',
    properties: { email: `${id}@example.com`, accountType: 'individual', acquisitionChannel: 'direct' },
  });

  it('creates a key per source that ingests, stores only its hash, and stops it at once when revoked', async () => {
    const created = await call('POST', '/v1/ingest-keys', ADMIN_KEY, { source: 'gateway', author: 'ada', reason: 'new gateway' });
    expect(created.statusCode, created.body).toBe(201);
    const { id, key } = created.json();
    expect(id).toMatch(/^ik_[0-9a-f]{12}$/);
    expect(key).toMatch(new RegExp(`^onr_${id}_[A-Za-z0-9_-]{43}$`));
    expect((await call('POST', '/v1/events', key, signup('e1'))).statusCode).toBe(202);
    expect((await call('GET', '/v1/developers/dev-e1/journey', key)).statusCode).toBe(200);
    // The environment's key still works; a stored key is no admin key.
    expect((await call('POST', '/v1/events', ENV_INGEST_KEY, signup('e2'))).statusCode).toBe(202);
    expect((await call('GET', '/v1/ingest-keys', key)).statusCode).toBe(401);
    expect((await call('GET', '/v1/rules', key)).statusCode).toBe(401);

    // Nothing in the database is the key: only its SHA-256.
    const { rows } = await db.pool.query('SELECT * FROM ingest_keys');
    expect(JSON.stringify(rows)).not.toContain(key.slice(20));
    expect(rows[0].hash).toMatch(/^[0-9a-f]{64}$/);
    const list = (await call('GET', '/v1/ingest-keys', ADMIN_KEY)).json().keys;
    expect(list).toEqual([{ id, source: 'gateway', createdAt: expect.any(String), createdBy: 'ada', revokedAt: null, revokedBy: null }]);

    const revoked = await call('POST', `/v1/ingest-keys/${id}/revoke`, ADMIN_KEY, { author: 'grace', reason: 'leaked in a log' });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json()).toMatchObject({ changed: true, key: { id, revokedBy: 'grace' } });
    const refused = await call('POST', '/v1/events', key, signup('e3'));
    expect(refused.statusCode).toBe(401);
    expect(refused.json().errors[0]).toEqual({ path: 'authorization', message: 'invalid key' });
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM events WHERE id = 'e3'`)).rows[0].n).toBe(0);
    expect((await call('POST', `/v1/ingest-keys/${id}/revoke`, ADMIN_KEY, { author: 'grace' })).json().changed).toBe(false);
  });

  it('answers 400 naming the field, 404 for an unknown key, 401 without the admin key', async () => {
    const bad = await call('POST', '/v1/ingest-keys', ADMIN_KEY, { source: 'Gate Way', author: 'ada' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('source');
    const noAuthor = await call('POST', '/v1/ingest-keys', ADMIN_KEY, { source: 'crm' });
    expect(noAuthor.json().errors[0].path).toBe('author');
    expect((await call('POST', '/v1/ingest-keys/ik_000000000000/revoke', ADMIN_KEY, { author: 'ada' })).statusCode).toBe(404);
    expect((await call('POST', '/v1/ingest-keys', ENV_INGEST_KEY, { source: 'crm', author: 'ada' })).statusCode).toBe(401);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM ingest_keys WHERE source = 'crm'`)).rows[0].n).toBe(0);
  });

  it('records rules and policy versions and key changes in the audit trail, newest first, paginated', async () => {
    const { id } = (await call('POST', '/v1/ingest-keys', ADMIN_KEY, { source: 'gateway', author: 'ada', reason: 'new gateway' })).json();
    expect((await call('POST', `/v1/ingest-keys/${id}/revoke`, ADMIN_KEY, { author: 'grace', reason: 'leaked in a log' })).statusCode).toBe(200);
    const rules = new RuleStore(db.pool);
    await rules.ensureInitialVersion(RULES_FILE);
    const source = (await rules.current()).source.replace('holdoutPercent: 10', 'holdoutPercent: 20');
    await rules.apply({ source, author: 'lin', reason: 'bigger holdout' });
    const { entries } = (await call('GET', '/v1/audit', ADMIN_KEY)).json();
    expect(entries.map((e: { action: string; subject: string; actor: string }) => [e.action, e.subject.replace(/ik_\w+/, 'ik'), e.actor])).toEqual([
      ['rules.applied', 'rules v2', 'lin'],
      ['rules.applied', 'rules v1', 'onramp'],
      ['ingest_key.revoked', 'ik', 'grace'],
      ['ingest_key.created', 'ik', 'ada'],
    ]);
    expect(entries[0].reason).toBe('bigger holdout');
    expect(entries[0].diff).toContain('-  holdoutPercent: 10');
    expect(entries[2]).toMatchObject({ reason: 'leaked in a log', detail: { source: 'gateway' } });

    const first = (await call('GET', '/v1/audit?limit=3', ADMIN_KEY)).json();
    expect(first.entries).toHaveLength(3);
    const second = (await call('GET', `/v1/audit?limit=3&cursor=${first.nextCursor}`, ADMIN_KEY)).json();
    expect(second.entries.map((e: { action: string }) => e.action)).toEqual(['ingest_key.created']);
    expect(second.nextCursor).toBeNull();
    expect((await call('GET', '/v1/audit?action=rules.applied', ADMIN_KEY)).json().entries).toHaveLength(2);
    expect((await call('GET', '/v1/audit', ENV_INGEST_KEY)).statusCode).toBe(401);
  });

  it('onramp keys and onramp audit: create prints the key once, list never does, revoke, the trail', async () => {
    const env = { ONRAMP_DATA_DIR: join(dir, 'data'), ONRAMP_ADMIN_KEY: ADMIN_KEY };
    const created = await runOnramp(['keys', 'create', '--source', 'crm', '--author', 'ada', '--url', url], env);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    const id = /^onr_(ik_[0-9a-f]{12})_/.exec(key)![1]!;
    expect((await call('POST', '/v1/events', key, signup('c1'))).statusCode).toBe(202);
    const list = await runOnramp(['keys', 'list', '--url', url], env);
    expect(list.stdout).toContain(`${id}  crm`);
    expect(list.stdout).not.toContain(key);
    const revoke = await runOnramp(['keys', 'revoke', id, '--author', 'grace', '--reason', 'rotated', '--url', url], env);
    expect(revoke.stdout).toMatch(new RegExp(`^revoked: ${id}  crm .* REVOKED .* by grace`));
    expect((await call('POST', '/v1/events', key, signup('c2'))).statusCode).toBe(401);
    const audit = await runOnramp(['audit', '--subject', id, '--url', url], env);
    expect(
      audit.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(/\s{2,}/).slice(1, 3)),
    ).toEqual([
      ['grace', 'ingest_key.revoked'],
      ['ada', 'ingest_key.created'],
    ]);
    const unknown = await runOnramp(['keys', 'revoke', 'ik_000000000000', '--author', 'x', '--url', url], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('404');
  });
});
