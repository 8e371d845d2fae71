import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/keys/hashed-key-store.ts';
import { SlackGateway } from '../../src/slack/slack-gateway.ts';
import { eventually } from '../support/eventually.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { runOnramp } from '../support/onramp-cli.ts';
import { ADMIN_KEY, AGENT_KEY, INGEST_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { signupWithKey } from '../support/signup-events.ts';
import { databaseBackends } from '../support/test-databases.ts';

const TOKEN = 'xoxb-agent-keys-test';

/** Issue 21, "Who is acting": personal agent keys name who acts on the handoff endpoints. */
describe.each(databaseBackends())('agent keys per person (dev server, HTTP API and CLI, %s)', (backend) => {
  let h: OnrampHarness;
  let slack: FakeSlack;
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const admin = bearer(ADMIN_KEY);
  const shared = bearer(AGENT_KEY);

  beforeAll(async () => {
    slack = await startFakeSlack({ token: TOKEN });
    const gateway = new SlackGateway({ token: TOKEN, slackApiUrl: slack.slackApiUrl, retryConfig: { retries: 1, factor: 1, minTimeout: 10, maxTimeout: 20 } });
    h = await new OnrampHarness(backend, { signingSecret: 'slack-signing-secret-agent-keys-0123', gateway }).start();
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
    await slack?.close();
  });

  const createKey = (payload: Record<string, unknown>) => h.app.inject({ method: 'POST', url: '/v1/agent-keys', headers: admin, payload });
  const handoff = async (id: string) => (await h.app.inject({ method: 'GET', url: `/v1/handoffs/${encodeURIComponent(id)}`, headers: shared })).json();
  const act = (caseId: string, body: Record<string, unknown>, headers: Record<string, string>) =>
    h.app.inject({ method: 'POST', url: `/v1/handoffs/${encodeURIComponent(caseId)}/actions`, headers, payload: body });
  const me = (headers: Record<string, string>) => h.app.inject({ method: 'GET', url: '/v1/agents/me', headers });
  const audit = async (subject: string) =>
    ((await h.app.inject({ method: 'GET', url: `/v1/audit?subject=${subject}`, headers: admin })).json().entries as { action: string; actor: string; detail: unknown }[]).reverse();

  async function escalated(id: string): Promise<string> {
    const now = new Date().toISOString();
    const posted = await h.post({
      events: [
        ...signupWithKey(id, now, { email: `${id}@example.com`, accountType: 'individual', acquisitionChannel: 'organic_search', timezone: 'UTC' }),
        { id: `${id}-t`, type: 'support.ticket_created', developerId: id, occurredAt: now, properties: { subject: 'my key is refused' } },
      ],
    });
    expect(posted.statusCode, posted.body).toBe(202);
    const caseId = `${id}/h1`;
    await eventually(() => handoff(caseId), { until: (c) => c.status === 'open', describe: `case ${caseId} open` });
    return caseId;
  }

  it('creates a key shown once (stored as its SHA-256, audited), refuses bad input naming the field, admin key only', async () => {
    const created = await createKey({ name: '  ana@example.com ', author: 'lead@example.com', reason: 'joined support' });
    expect(created.statusCode, created.body).toBe(201);
    const key = created.json();
    expect(key).toMatchObject({ id: expect.stringMatching(/^ak_[0-9a-f]{12}$/), name: 'ana@example.com', createdBy: 'lead@example.com', revokedAt: null, revokedBy: null });
    expect(key.key).toMatch(new RegExp(`^onr_${key.id}_[\\w-]{43}$`));
    const { rows } = await h.db.pool.query('SELECT hash FROM agent_keys WHERE id = $1', [key.id]);
    expect(rows).toEqual([{ hash: sha256Hex(key.key) }]);
    expect(await audit(key.id)).toMatchObject([{ action: 'agent_key.created', actor: 'lead@example.com', detail: { name: 'ana@example.com' } }]);

    const before = await h.count('agent_keys');
    for (const [payload, path] of [
      [{}, 'name'],
      [{ name: '   ' }, 'name'],
      [{ name: 'x'.repeat(201) }, 'name'],
      [{ name: 'bo', role: 'root' }, ''],
    ] as const) {
      const refused = await createKey(payload);
      expect(refused.statusCode, JSON.stringify(payload)).toBe(400);
      if (path) expect(refused.json().errors[0].path).toBe(path);
    }
    for (const headers of [shared, bearer(key.key), bearer(INGEST_KEY)]) {
      expect((await h.app.inject({ method: 'POST', url: '/v1/agent-keys', headers, payload: { name: 'mallory' } })).statusCode).toBe(401);
      expect((await h.app.inject({ method: 'GET', url: '/v1/agent-keys', headers })).statusCode).toBe(401);
    }
    expect(await h.count('agent_keys')).toBe(before);
    const { keys } = (await h.app.inject({ method: 'GET', url: '/v1/agent-keys', headers: admin })).json();
    expect(keys.find((k: { id: string }) => k.id === key.id)).toEqual({
      id: key.id,
      name: 'ana@example.com',
      createdAt: key.createdAt,
      createdBy: 'lead@example.com',
      revokedAt: null,
      revokedBy: null,
    });
  });

  it('acts as the key’s name: actor optional, another actor 400, ownership by name; the shared key still needs actor; revoked: 401', async () => {
    const ana = (await createKey({ name: 'ana@example.com' })).json();
    const bo = (await createKey({ name: 'Bo Ruiz' })).json();
    const asAna = bearer(ana.key);
    const asBo = bearer(bo.key);

    expect((await me(asAna)).json()).toEqual({ actor: 'ana@example.com', credential: 'agent' });
    expect((await me(shared)).json()).toEqual({ actor: null, credential: 'shared' });
    expect((await me(admin)).json()).toEqual({ actor: null, credential: 'admin' });
    expect((await me(bearer(INGEST_KEY))).statusCode).toBe(401);

    const caseId = await escalated(`${backend}_agentkey`);
    const logLength = async () => (await handoff(caseId)).log.length;
    expect((await h.app.inject({ method: 'GET', url: '/v1/handoffs?limit=5', headers: asAna })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: `/v1/handoffs/${encodeURIComponent(caseId)}`, headers: asAna })).json().id).toBeDefined();

    // Another name than the key's is refused, not overridden; nothing is logged.
    const before = await logLength();
    const mismatch = await act(caseId, { action: 'claim', actor: 'bo@example.com' }, asAna);
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json()).toEqual({ errors: [{ path: 'actor', message: 'must be "ana@example.com" (the name of your agent key) or left out' }] });
    // The shared key and the admin key still need the body's actor.
    for (const headers of [shared, admin]) {
      const missing = await act(caseId, { action: 'note', note: 'who am I?' }, headers);
      expect(missing.statusCode).toBe(400);
      expect(missing.json().errors[0]).toMatchObject({ path: 'actor', message: expect.stringContaining('required') });
    }
    expect(await logLength()).toBe(before);

    const claimed = await act(caseId, { action: 'claim' }, asAna);
    expect(claimed.statusCode, claimed.body).toBe(200);
    expect(claimed.json().case).toMatchObject({ status: 'claimed', owner: 'ana@example.com' });
    expect((await act(caseId, { action: 'note', actor: 'ana@example.com', note: 'their own name is fine' }, asAna)).statusCode).toBe(200);

    // Ownership follows the key's name: bo's key is refused, naming ana.
    const refused = await act(caseId, { action: 'note', note: 'let me' }, asBo);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().errors[0]).toMatchObject({ path: 'actor', message: expect.stringContaining('claimed by ana@example.com') });
    const claimRefused = await act(caseId, { action: 'claim' }, asBo);
    expect(claimRefused.statusCode).toBe(409);
    expect(claimRefused.json().errors[0].message).toContain('claimed by ana@example.com');
    // The shared key acts as whoever the body names (ana's case: as ana).
    expect((await act(caseId, { action: 'note', actor: 'ana@example.com', note: 'from the shared key' }, shared)).statusCode).toBe(200);
    expect((await act(caseId, { action: 'snooze', actor: 'lead@example.com', for: '1h' }, admin)).statusCode).toBe(200);
    expect((await handoff(caseId)).log.slice(-4).map((s: { step: string; actor: string }) => [s.step, s.actor])).toEqual([
      ['claimed', 'ana@example.com'],
      ['note', 'ana@example.com'],
      ['note', 'ana@example.com'],
      ['snoozed', 'admin (lead@example.com)'],
    ]);

    // Revoked: refused at once on this process, 404 for an unknown id, a second revoke changes nothing.
    const revoke = (id: string) => h.app.inject({ method: 'DELETE', url: `/v1/agent-keys/${id}?author=lead@example.com&reason=left`, headers: admin });
    const revoked = await revoke(ana.id);
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(revoked.json()).toMatchObject({ changed: true, key: { id: ana.id, revokedBy: 'lead@example.com', revokedAt: expect.any(String) } });
    for (const request of [me(asAna), act(caseId, { action: 'return' }, asAna), h.app.inject({ method: 'GET', url: '/v1/handoffs', headers: asAna })]) {
      const answer = await request;
      expect(answer.statusCode).toBe(401);
      expect(answer.json().errors[0]).toEqual({ path: 'authorization', message: 'invalid key' });
    }
    expect((await revoke(ana.id)).json()).toMatchObject({ changed: false, key: { id: ana.id } });
    const unknown = await revoke('ak_000000000000');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ errors: [{ path: 'id', message: 'no agent key ak_000000000000' }] });
    expect(await audit(ana.id)).toMatchObject([
      { action: 'agent_key.created', actor: 'admin', detail: { name: 'ana@example.com' } },
      { action: 'agent_key.revoked', actor: 'lead@example.com', detail: { name: 'ana@example.com' } },
    ]);
    const { keys } = (await h.app.inject({ method: 'GET', url: '/v1/agent-keys', headers: admin })).json();
    expect(keys.find((k: { id: string }) => k.id === ana.id)).toMatchObject({ revokedBy: 'lead@example.com', revokedAt: revoked.json().key.revokedAt });
    expect((await me(asBo)).json()).toEqual({ actor: 'Bo Ruiz', credential: 'agent' });
  });

  it.runIf(backend === databaseBackends()[0])(
    'onramp agents create|list|revoke, and onramp handoffs with a personal key',
    async () => {
      const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
      const agents = (args: string[], env: Record<string, string> = { ONRAMP_ADMIN_KEY: ADMIN_KEY }) =>
        runOnramp(['agents', ...args, '--url', url], { ONRAMP_DATA_DIR: '/nonexistent', ...env });

      const created = await agents(['create', 'cy@example.com', '--author', 'lead@example.com', '--reason', 'new hire']);
      expect(created.code, created.stderr).toBe(0);
      const key = created.stdout.trim();
      expect(key).toMatch(/^onr_ak_[0-9a-f]{12}_[\w-]{43}$/);
      const id = key.split('_').slice(1, 3).join('_');
      expect(created.stderr).toBe(`created ${id} for cy@example.com; the key (shown once):\n`);

      const listed = await agents(['list']);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(new RegExp(`^${id}  cy@example.com +created \\S+ by lead@example.com$`, 'm'));
      expect(listed.stdout).not.toContain(key);
      const json = JSON.parse((await agents(['list', '--json'])).stdout);
      expect(json.find((k: { id: string }) => k.id === id)).toMatchObject({ name: 'cy@example.com', revokedAt: null });

      // The handoffs CLI with the personal key: no --actor, the key's name acts; another --actor is the API's 400.
      const caseId = await escalated(`${backend}_agentkey_cli`);
      const handoffs = (args: string[]) => runOnramp(['handoffs', ...args, '--url', url], { ONRAMP_DATA_DIR: '/nonexistent', ONRAMP_AGENT_KEY: key });
      const claimed = await handoffs(['claim', caseId]);
      expect(claimed, claimed.stderr).toMatchObject({ code: 0, stdout: `claimed: ${caseId.replace('/', '.')} is claimed (owner cy@example.com)\n` });
      const other = await handoffs(['note', caseId, 'hi', '--actor', 'dee@example.com']);
      expect(other.code).toBe(1);
      expect(other.stderr).toMatch(/400 .*"path":"actor".*the name of your agent key/);
      const sharedWithout = await runOnramp(['handoffs', 'note', caseId, 'hi', '--url', url], { ONRAMP_DATA_DIR: '/nonexistent', ONRAMP_AGENT_KEY: AGENT_KEY });
      expect(sharedWithout.code).toBe(1);
      expect(sharedWithout.stderr).toMatch(/400 .*"path":"actor","message":"required with the shared key/);

      const revoked = await agents(['revoke', id, '--author', 'lead@example.com']);
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(revoked.stdout).toMatch(new RegExp(`^revoked: ${id}  cy@example.com .* REVOKED \\S+ by lead@example.com\n$`));
      expect((await agents(['revoke', id, '--json'])).stdout).toContain('"changed": false');
      expect((await handoffs(['list'])).code).toBe(1);
      const unknown = await agents(['revoke', 'ak_000000000000']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('no agent key ak_000000000000');
      const blank = await agents(['create', ' ']);
      expect(blank.code).toBe(1);
      expect(blank.stderr).toContain('name');
      expect((await agents(['list'], { ONRAMP_AGENT_KEY: AGENT_KEY })).code).toBe(2);
      expect((await agents(['list'], { ONRAMP_ADMIN_KEY: AGENT_KEY })).code).toBe(1);
    },
    180_000,
  ); // some twenty CLI processes, each starting tsx
});
