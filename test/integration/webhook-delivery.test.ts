import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createJourneyActivities } from '../../src/activities/journey-activities.ts';
import { createNudgeActivities, type NudgeActivityDeps } from '../../src/activities/nudge-activities.ts';
import { withTransaction } from '../../src/db/sql.ts';
import { funnelInForceCache } from '../../src/funnel/funnel-in-force-cache.ts';
import { databaseRegistry } from '../../src/metrics/database-metrics.ts';
import type { NudgeDecisionEffect } from '../../src/journey/journey-effects.ts';
import { receiverAddressProblem } from '../../src/webhooks/receiver-address.ts';
import { WebhookTransport } from '../../src/webhooks/send-webhook.ts';
import { WebhookDispatcher } from '../../src/webhooks/webhook-dispatcher.ts';
import { queueWebhookEvents, type WebhookEvent } from '../../src/webhooks/webhook-events.ts';
import { WebhookStore } from '../../src/webhooks/webhook-store.ts';
import { eventually } from '../support/eventually.ts';
import { openMigratedDatabase, type MigratedDatabase } from '../support/migrated-database.ts';
import { databaseBackends } from '../support/test-databases.ts';
import { startWebhookReceiver } from '../support/webhook-receiver.ts';

const fact = (developerId: string, n: number): WebhookEvent => ({
  type: 'stage.reached',
  developerId,
  key: `test/${developerId}/${n}`,
  occurredAt: new Date(Date.UTC(2026, 11, 1, n)).toISOString(),
  data: { developerId, n },
});

describe.each(databaseBackends())('webhook delivery on %s (a local receiver over HTTP)', (backend) => {
  let database: MigratedDatabase;
  let store: WebhookStore;
  const running: { stop(): Promise<unknown> | void }[] = [];

  beforeAll(async () => {
    database = await openMigratedDatabase(backend);
    store = new WebhookStore(database.db.pool);
  });
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
    await database.db.pool.query('DELETE FROM webhook_subscriptions');
  });
  afterAll(async () => {
    await database?.close();
  });

  async function dispatcher(options: { retryForMs?: number } = {}) {
    const transport = new WebhookTransport({ allowedAddresses: ['127.0.0.1'], timeoutMs: 2_000 });
    const d = new WebhookDispatcher({ pool: database.db.pool, transport, logger: pino({ level: 'silent' }), pollIntervalMs: 20, retryScheduleMs: [30, 60], ...options });
    d.start();
    running.push({ stop: () => d.stop().then(() => transport.close()) });
    return d;
  }
  const queue = (events: WebhookEvent[]) => withTransaction(database.db.pool, (sql) => queueWebhookEvents(sql, events));
  const statuses = async (id: string) => (await store.deliveries(id, { limit: 100 })).deliveries.map((d) => d.status);

  it('delivers every message once, in order per developer, signed per Standard Webhooks, after the receiver failed for a while', async () => {
    const receiver = await startWebhookReceiver(({ index }) => (index < 4 ? 503 : 204));
    running.push({ stop: receiver.close });
    const hook = await store.create({ url: receiver.url, events: ['stage.reached'], author: 'test' });
    await queue([fact('dev_a', 1), fact('dev_b', 1), fact('dev_a', 2), fact('dev_a', 3), fact('dev_b', 2)]);
    await dispatcher();

    const accepted = await eventually(() => receiver.accepted(), { until: (a) => a.length === 5, describe: 'five messages accepted' });
    await eventually(() => statuses(hook.id), { until: (s) => s.every((x) => x === 'delivered'), describe: 'all marked delivered' });
    expect(receiver.received.length).toBeGreaterThan(5); // the first four were refused and retried
    const ids = accepted.map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(5);
    const verifier = new Webhook(hook.secret);
    for (const r of accepted) verifier.verify(r.body, r.headers as Record<string, string>); // throws on a bad signature
    // Per developer, nothing arrives (accepted or not) before the message ahead of it was accepted.
    for (const developer of ['dev_a', 'dev_b']) {
      const seen = receiver.received.map((r) => ({ ...JSON.parse(r.body), answered: r.answered })).filter((m) => m.data.developerId === developer);
      const order = seen.map((m) => m.data.n);
      expect(
        [...order].sort((x, y) => x - y),
        `${developer} arrived in order: ${order}`,
      ).toEqual(order);
      expect(seen.filter((m) => m.answered === 204).map((m) => m.data.n)).toEqual(developer === 'dev_a' ? [1, 2, 3] : [1, 2]);
    }
    const body = JSON.parse(accepted[0]!.body);
    expect(body).toMatchObject({ type: 'stage.reached', timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), data: { developerId: expect.any(String) } });
    // The log keeps each attempt with what the receiver answered.
    const first = (await store.deliveries(hook.id, { limit: 100, status: 'delivered' })).deliveries.find((d) => d.attempts > 1)!;
    const detail = (await store.delivery(hook.id, first.id))!;
    expect(detail.attemptLog.map((a) => a.status)).toEqual([...Array(detail.attempts - 1).fill(503), 204]);
    expect(detail.attemptLog[0]).toMatchObject({ error: 'HTTP 503', response: 'not now' });
  });

  it('gives a message up after the retry window and moves the line on; a redelivery sends it again under the same id', async () => {
    let refuseFirst = true;
    const receiver = await startWebhookReceiver(({ body }) => (refuseFirst && JSON.parse(body).data.n === 1 ? 500 : 200));
    running.push({ stop: receiver.close });
    const hook = await store.create({ url: receiver.url, events: ['stage.reached'], author: 'test' });
    await queue([fact('dev_c', 1), fact('dev_c', 2)]);
    await dispatcher({ retryForMs: 300 });

    await eventually(() => statuses(hook.id), { until: (s) => s.join() === 'delivered,failed', describe: 'the second delivered after the first was given up' });
    const failed = (await store.deliveries(hook.id, { limit: 10, status: 'failed' })).deliveries[0]!;
    expect(failed).toMatchObject({ lastStatus: 500, lastError: 'HTTP 500', nextAttemptAt: null });
    expect((await store.get(hook.id))!).toMatchObject({ pending: 0, failed: 1 });
    const gauges = databaseRegistry(database.db.pool, funnelInForceCache(database.db.pool), {
      sources: async () => [],
      unattributed: async () => ({ waiting: 0, oldestAgeSeconds: null }),
    });
    expect((await gauges.getSingleMetric('onramp_webhook_messages')!.get()).values).toEqual(
      expect.arrayContaining([expect.objectContaining({ labels: { status: 'failed' }, value: 1 }), expect.objectContaining({ labels: { status: 'pending' }, value: 0 })]),
    );

    refuseFirst = false;
    expect(await store.redeliver(hook.id, failed.id)).toMatchObject({ status: 'pending' });
    const again = await eventually(() => receiver.accepted().filter((r) => r.headers['webhook-id'] === failed.id), {
      until: (a) => a.length === 1,
      describe: 'the redelivered message accepted',
    });
    expect(JSON.parse(again[0]!.body).data.n).toBe(1);
    await eventually(() => statuses(hook.id), { until: (s) => s.join() === 'delivered,delivered', describe: 'both delivered' });
    expect((await gauges.getSingleMetric('onramp_webhook_lag_seconds')!.get()).values[0]!.value).toBe(0);
    expect(await store.redeliver(hook.id, 'msg_none')).toBeUndefined();
  });

  it('attempts a message waiting for its next retry at once when asked to redeliver it', async () => {
    let healthy = false;
    const receiver = await startWebhookReceiver(() => (healthy ? 204 : 502));
    running.push({ stop: receiver.close });
    const hook = await store.create({ url: receiver.url, events: ['stage.reached'], author: 'test' });
    await queue([fact('dev_f', 1)]);
    const transport = new WebhookTransport({ allowedAddresses: ['127.0.0.1'], timeoutMs: 2_000 });
    const d = new WebhookDispatcher({ pool: database.db.pool, transport, logger: pino({ level: 'silent' }), pollIntervalMs: 20, retryScheduleMs: [3_600_000] });
    d.start();
    running.push({ stop: () => d.stop().then(() => transport.close()) });
    const [waiting] = await eventually(async () => (await store.deliveries(hook.id, { limit: 1 })).deliveries, {
      until: (m) => m[0]?.lastStatus === 502,
      describe: 'the first attempt failed',
    });
    expect(Date.parse(waiting!.nextAttemptAt!)).toBeGreaterThan(Date.now() + 2_000_000); // an hour away
    healthy = true;
    expect(await store.redeliver(hook.id, waiting!.id)).toMatchObject({ status: 'pending', queuedAt: waiting!.queuedAt });
    await eventually(() => receiver.accepted(), { until: (a) => a.length === 1, describe: 'attempted at once' });
  });

  it('prunes delivered and given-up messages past the retention, never a pending one', async () => {
    const hook = await store.create({ url: 'http://127.0.0.1:9/p', events: ['stage.reached'], author: 'test' });
    await queue([fact('dev_p', 1), fact('dev_p', 2), fact('dev_p', 3), fact('dev_p', 4)]);
    const { pool } = database.db;
    await pool.query(`UPDATE webhook_deliveries SET queued_at = now() - interval '40 days', status = CASE event_key
        WHEN 'test/dev_p/1' THEN 'delivered' WHEN 'test/dev_p/2' THEN 'failed' ELSE 'pending' END`);
    await pool.query(`UPDATE webhook_deliveries SET status = 'delivered', queued_at = now() - interval '2 days' WHERE event_key = 'test/dev_p/4'`);
    await pool.query(`INSERT INTO webhook_attempts (delivery_seq, duration_ms, status) SELECT seq, 5, 200 FROM webhook_deliveries`);
    const transport = new WebhookTransport();
    const d = new WebhookDispatcher({ pool, transport, logger: pino({ level: 'silent' }), logRetentionMs: 30 * 86_400_000 });
    expect(await d.pruneLog()).toBe(2);
    transport.close();
    const left = (await store.deliveries(hook.id, { limit: 10 })).deliveries.map((m) => (m.payload as { data: { n: number } }).data.n);
    expect(left.sort()).toEqual([3, 4]);
    expect((await pool.query('SELECT count(*)::int AS n FROM webhook_attempts')).rows[0].n).toBe(2);
  });

  it('signs with both secrets while a rotation overlaps, and with the new one only after', async () => {
    const receiver = await startWebhookReceiver();
    running.push({ stop: receiver.close });
    const hook = await store.create({ url: receiver.url, events: ['stage.reached'], author: 'test' });
    const rotated = (await store.rotateSecret(hook.id, 3_600_000, { author: 'test' }))!;
    await queue([fact('dev_d', 1)]);
    await dispatcher();
    const [message] = await eventually(() => receiver.accepted(), { until: (a) => a.length === 1, describe: 'one message' });
    expect((message!.headers['webhook-signature'] as string).split(' ')).toHaveLength(2);
    new Webhook(hook.secret).verify(message!.body, message!.headers as Record<string, string>);
    new Webhook(rotated.secret).verify(message!.body, message!.headers as Record<string, string>);

    await database.db.pool.query(`UPDATE webhook_subscriptions SET previous_secret_expires_at = now() - interval '1 second'`);
    await queue([fact('dev_d', 2)]);
    const [, later] = await eventually(() => receiver.accepted(), { until: (a) => a.length === 2, describe: 'a second message' });
    expect(() => new Webhook(hook.secret).verify(later!.body, later!.headers as Record<string, string>)).toThrow();
    new Webhook(rotated.secret).verify(later!.body, later!.headers as Record<string, string>);
    const audit = (await database.db.pool.query(`SELECT action FROM audit_log WHERE subject = $1 ORDER BY id`, [hook.id])).rows.map((r) => r.action);
    expect(audit).toEqual(['webhook.created', 'webhook.secret_rotated']);
  });

  it('queues a message only for a fact recorded the first time, and only for the subscriptions hearing its kind', async () => {
    const nudgesOnly = await store.create({ url: 'http://127.0.0.1:9/n', events: ['nudge.skipped', 'nudge.sent'], author: 'test' });
    const stagesOnly = await store.create({ url: 'http://127.0.0.1:9/s', events: ['stage.reached'], author: 'test' });
    const { recordJourneyEffects } = createJourneyActivities({ pool: database.db.pool });
    const reached = {
      type: 'recordStage' as const,
      developerId: 'dev_e',
      stage: 'first_api_call',
      funnelVersion: 1,
      occurredAt: '2026-12-01T10:00:00.000Z',
      causeEventId: 'e1',
      late: false,
    };
    await recordJourneyEffects([reached]);
    await recordJourneyEffects([reached]); // a retried activity
    await recordJourneyEffects([{ ...reached, occurredAt: '2026-12-01T09:00:00.000Z', causeEventId: 'e0' }]); // earlier evidence: the same stage
    const { recordNudgeDecisions } = createNudgeActivities({ pool: database.db.pool } as NudgeActivityDeps);
    const decision = (key: string, outcome: NudgeDecisionEffect['outcome']): NudgeDecisionEffect => ({
      type: 'recordNudgeDecision',
      developerId: 'dev_e',
      decisionKey: key,
      nudgeKey: 'welcome#1',
      ruleId: 'welcome',
      ruleVersion: 1,
      outcome,
      ...(outcome === 'skipped' ? { reason: 'quiet_hours' } : {}),
      template: 'welcome',
      segment: { engagement: 'new', channel: null, accountType: null },
      inputs: { timezone: 'Europe/Paris' },
      decidedAt: '2026-12-01T10:05:00.000Z',
    });
    await recordNudgeDecisions([decision('dev_e/1', 'scheduled'), decision('dev_e/2', 'skipped')]);
    await recordNudgeDecisions([decision('dev_e/2', 'skipped')]);

    const nudges = (await store.deliveries(nudgesOnly.id, { limit: 10 })).deliveries;
    expect(nudges.map((d) => d.type)).toEqual(['nudge.skipped']);
    expect(nudges[0]!.payload).toEqual({
      type: 'nudge.skipped',
      timestamp: '2026-12-01T10:05:00.000Z',
      data: {
        developerId: 'dev_e',
        nudgeKey: 'welcome#1',
        ruleId: 'welcome',
        ruleVersion: 1,
        template: 'welcome',
        reason: 'quiet_hours',
        segment: { engagement: 'new', channel: null, accountType: null },
        decidedAt: '2026-12-01T10:05:00.000Z',
      },
    });
    const stages = (await store.deliveries(stagesOnly.id, { limit: 10 })).deliveries;
    expect(stages).toHaveLength(1);
    expect(stages[0]!.payload).toMatchObject({
      type: 'stage.reached',
      data: { developerId: 'dev_e', stage: 'first_api_call', funnelVersion: 1, reachedAt: '2026-12-01T10:00:00.000Z', causeEventId: 'e1', late: false },
    });
    // Unsubscribing takes the queue and the log with it.
    expect(await store.delete(stagesOnly.id, { author: 'test' })).toBe(true);
    expect((await database.db.pool.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE subscription_id = $1`, [stagesOnly.id])).rows[0].n).toBe(0);
  });

  it('never connects to a private or loopback address it was not allowed, named or literal (SSRF)', async () => {
    const receiver = await startWebhookReceiver();
    running.push({ stop: receiver.close });
    const guarded = new WebhookTransport({ timeoutMs: 2_000 });
    running.push({ stop: () => guarded.close() });
    const literal = await guarded.post(receiver.url, {}, '{}');
    expect(literal.status).toBeUndefined();
    expect(literal.error).toMatch(/not allowed/);
    const named = await guarded.post(receiver.url.replace('127.0.0.1', 'localhost'), {}, '{}');
    expect(named.error).toMatch(/not allowed/);
    expect(receiver.received).toHaveLength(0);

    const allowed = new WebhookTransport({ allowedAddresses: ['127.0.0.0/8'], timeoutMs: 2_000 });
    running.push({ stop: () => allowed.close() });
    expect((await allowed.post(receiver.url, {}, '{}')).status).toBe(204);

    for (const url of ['http://169.254.169.254/latest/meta-data', 'http://10.1.2.3/', 'http://[::1]:8080/', 'http://192.168.0.10/', 'http://0.0.0.0/', 'http://100.64.0.1/'])
      expect(await receiverAddressProblem(new URL(url), []), url).toMatch(/private, loopback or reserved/);
    expect(await receiverAddressProblem(new URL('http://localhost/'), [])).toMatch(/private, loopback or reserved/);
    expect(await receiverAddressProblem(new URL('http://127.0.0.1:9/'), ['127.0.0.1'])).toBeUndefined();
    expect(await receiverAddressProblem(new URL('https://93.184.215.14/hook'), [])).toBeUndefined();
    expect(await receiverAddressProblem(new URL('https://no-such-host.invalid/'), [])).toMatch(/does not resolve/);
  });
});
