import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { ADMIN_KEY, AGENT_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { signupWithKey } from '../support/signup-events.ts';
import { databaseBackends } from '../support/test-databases.ts';
import { startWebhookReceiver } from '../support/webhook-receiver.ts';

/**
 * Outgoing webhooks end to end: what the journey, the cases and a deletion record reaches a
 * receiver that refuses for a while, every message once, in order, signed.
 */
describe('webhooks through the HTTP API (dev server, a local receiver)', () => {
  const backend = databaseBackends()[0]!;
  let h: OnrampHarness;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  const agent = { authorization: `Bearer ${AGENT_KEY}` };

  beforeAll(async () => {
    receiver = await startWebhookReceiver(({ index }) => (index < 3 ? 503 : 200));
    h = await new OnrampHarness(backend, {}, { webhooks: { allowedAddresses: ['127.0.0.1'], retryScheduleMs: [100, 200] } }).start();
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
    await receiver?.close();
  });

  const api = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = admin) =>
    h.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });

  it('refuses a receiver it must not call, and a subscription it cannot serve, naming the field', async () => {
    const refused = async (body: Record<string, unknown>, path: string, message: RegExp) => {
      const response = await api('POST', '/v1/webhooks', body);
      expect(response.statusCode, response.body).toBe(400);
      expect(response.json().errors[0]).toMatchObject({ path, message: expect.stringMatching(message) });
    };
    await refused({ url: 'http://169.254.169.254/latest/meta-data', events: ['stage.reached'] }, 'url', /private, loopback or reserved/);
    await refused({ url: 'http://10.0.0.7/hook', events: ['stage.reached'] }, 'url', /ONRAMP_WEBHOOK_ALLOWED_ADDRESSES/);
    await refused({ url: 'ftp://127.0.0.1/hook', events: ['stage.reached'] }, 'url', /http or https/);
    await refused({ url: 'http://user:pw@127.0.0.1/hook', events: ['stage.reached'] }, 'url', /credentials/);
    await refused({ url: receiver.url, events: [] }, 'events', /at least one/);
    await refused({ url: receiver.url, events: ['stage.left'] }, 'events.0', /./);
    expect((await api('POST', '/v1/webhooks', { url: receiver.url, events: ['stage.reached'] }, agent)).statusCode).toBe(401);
    expect((await api('GET', '/v1/webhooks')).json().webhooks).toEqual([]);
  });

  it('tells a failing-then-healthy receiver of every stage, case step and the deletion, once each, in order, signed', async () => {
    const created = await api('POST', '/v1/webhooks', {
      url: receiver.url,
      events: ['stage.reached', 'handoff.opened', 'handoff.claimed', 'handoff.resolved', 'developer.deleted'],
      description: 'the CRM',
      author: 'ops@example.com',
    });
    expect(created.statusCode, created.body).toBe(201);
    const hook = created.json();
    expect(hook).toMatchObject({ id: expect.stringMatching(/^wh_/), secret: expect.stringMatching(/^whsec_/), pending: 0, failed: 0 });
    expect((await api('GET', '/v1/webhooks')).json().webhooks.map((w: any) => ({ id: w.id, secret: w.secret }))).toEqual([{ id: hook.id, secret: undefined }]);

    const id = `${backend}_hooked`;
    const now = new Date().toISOString();
    const posted = await h.post({
      events: [
        ...signupWithKey(id, now, { accountType: 'individual', acquisitionChannel: 'organic_search', timezone: 'UTC' }),
        { id: `${id}-r`, type: 'api.request', occurredAt: now, properties: { apiKey: `key_${id}`, endpoint: '/v1/charges', method: 'GET', status: 200, mode: 'test' } },
        { id: `${id}-t`, type: 'support.ticket_created', developerId: id, occurredAt: now, properties: { subject: 'how do I go live?' } },
      ],
    });
    expect(posted.statusCode, posted.body).toBe(202);
    const caseId = `${id}/h1`;
    const act = (body: Record<string, unknown>) => api('POST', `/v1/handoffs/${encodeURIComponent(caseId)}/actions`, body, agent);
    await eventually(() => api('GET', `/v1/handoffs/${encodeURIComponent(caseId)}`, undefined, agent), { until: (r) => r.json().status === 'open', describe: 'case open' });
    expect((await act({ action: 'claim', actor: 'ana@example.com' })).statusCode).toBeLessThan(300);
    await eventually(() => api('GET', `/v1/handoffs/${encodeURIComponent(caseId)}`, undefined, agent), { until: (r) => r.json().status === 'claimed', describe: 'case claimed' });
    expect((await act({ action: 'resolve', actor: 'ana@example.com', outcome: 'unblocked', friction: 'missing_docs' })).statusCode).toBeLessThan(300);
    await eventually(() => api('GET', `/v1/handoffs/${encodeURIComponent(caseId)}`, undefined, agent), { until: (r) => r.json().status === 'resolved', describe: 'case resolved' });
    await h.waitForIdle(id);
    expect((await api('DELETE', `/v1/developers/${id}?author=dpo@example.com`)).statusCode).toBe(200);

    const accepted = await eventually(() => receiver.accepted().map((r) => ({ ...r, message: JSON.parse(r.body) })), {
      until: (a) => a.some((r) => r.message.type === 'developer.deleted'),
      timeout: 60_000,
      describe: 'the deletion reached the receiver',
    });
    expect(receiver.received.filter((r) => r.answered === 503)).toHaveLength(3);
    const verifier = new Webhook(hook.secret);
    for (const r of accepted) verifier.verify(r.body, r.headers as Record<string, string>);
    expect(new Set(accepted.map((r) => r.headers['webhook-id'])).size).toBe(accepted.length); // each message accepted once

    const types = accepted.map((r) => r.message.type);
    const stages = accepted.filter((r) => r.message.type === 'stage.reached').map((r) => r.message.data.stage);
    expect(stages).toEqual(expect.arrayContaining(['account_created', 'credential_provisioned', 'first_api_call']));
    expect(types.slice(stages.length)).toEqual(['handoff.opened', 'handoff.claimed', 'handoff.resolved', 'developer.deleted']);
    expect(types.slice(0, stages.length).every((t) => t === 'stage.reached')).toBe(true);
    const [opened, claimed, resolved, deleted] = accepted.slice(stages.length).map((r) => r.message);
    expect(opened.data).toMatchObject({ developerId: id, caseId, criterion: 'support_ticket', level: 1, status: 'open' });
    expect(opened.data).not.toHaveProperty('reason'); // a ticket's words stay in Onramp
    expect(claimed.data).toMatchObject({ caseId, owner: 'ana@example.com', actor: 'ana@example.com' });
    expect(resolved.data).toMatchObject({ caseId, status: 'resolved', outcome: 'unblocked', friction: 'missing_docs' });
    expect(deleted).toMatchObject({ type: 'developer.deleted', data: { developerId: id, deletedAt: expect.any(String) } });

    // The log: every message delivered, the first ones after refusals, each attempt with the answer.
    // The dispatcher records a delivery once the receiver's answer is in: the last may still be on its way.
    const log = await eventually(async () => (await api('GET', `/v1/webhooks/${hook.id}/deliveries?developer=${id}`)).json(), {
      until: (l) => l.deliveries.every((d: any) => d.status === 'delivered'),
      describe: 'every delivery recorded as delivered',
    });
    expect(log.deliveries).toHaveLength(accepted.length);
    expect(log.deliveries.every((d: any) => d.status === 'delivered')).toBe(true);
    const retried = log.deliveries.find((d: any) => d.attempts > 1);
    const detail = (await api('GET', `/v1/webhooks/${hook.id}/deliveries/${retried.id}`)).json();
    expect(detail.attemptLog.map((a: any) => a.status)).toEqual([...Array(detail.attempts - 1).fill(503), 200]);
    const page = (await api('GET', `/v1/webhooks/${hook.id}/deliveries?limit=2`)).json();
    expect(page.deliveries).toHaveLength(2);
    const next = (await api('GET', `/v1/webhooks/${hook.id}/deliveries?limit=2&cursor=${page.nextCursor}`)).json();
    expect(next.deliveries[0].id).not.toBe(page.deliveries[1].id);

    // A manual redelivery sends the same message again.
    const lastId = accepted.at(-1)!.headers['webhook-id'] as string;
    const redeliver = await api('POST', `/v1/webhooks/${hook.id}/deliveries/${lastId}/redeliver`);
    expect(redeliver.statusCode, redeliver.body).toBe(202);
    await eventually(() => receiver.accepted().filter((r) => r.headers['webhook-id'] === lastId), {
      until: (a) => a.length === 2,
      describe: 'the redelivered message',
    });

    // Rotation and unsubscribing.
    const rotated = await api('POST', `/v1/webhooks/${hook.id}/rotate-secret`, { overlap: '1h', author: 'ops@example.com' });
    expect(rotated.statusCode, rotated.body).toBe(200);
    expect(rotated.json().secret).not.toBe(hook.secret);
    expect((await api('GET', `/v1/webhooks/${hook.id}`)).json().previousSecretExpiresAt).toBe(rotated.json().previousSecretExpiresAt);
    expect((await api('DELETE', `/v1/webhooks/${hook.id}?author=ops@example.com`)).statusCode).toBe(204);
    expect((await api('GET', `/v1/webhooks/${hook.id}`)).statusCode).toBe(404);
    expect((await api('GET', `/v1/webhooks/${hook.id}/deliveries`)).statusCode).toBe(404);
    expect((await api('DELETE', `/v1/webhooks/${hook.id}`)).statusCode).toBe(404);
    const audit = (await api('GET', `/v1/audit?subject=${hook.id}`)).json().entries.map((e: any) => [e.action, e.actor]);
    expect(audit).toEqual([
      ['webhook.deleted', 'ops@example.com'],
      ['webhook.secret_rotated', 'ops@example.com'],
      ['webhook.created', 'ops@example.com'],
    ]);
  }, 120_000);
});
