import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { WorkflowNotFoundError } from '@temporalio/client';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackGateway } from '../../src/slack/slack-gateway.ts';
import { holdoutBucket } from '../../src/journey/nudging.ts';
import { createLogger } from '../../src/logger.ts';
import type { onboardingJourney } from '../../workflows/onboarding-journey.ts';
import { journeyWorkflowId, TASK_QUEUE } from '../../workflows/journey-messages.ts';
import { eventually } from '../support/eventually.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { ADMIN_KEY, AGENT_KEY, INGEST_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { databaseBackends } from '../support/test-databases.ts';

/**
 * Deletion leaves nothing personal behind: a developer who has been through everything (signed
 * up with a name and time zone, nudged by email, unsubscribed, called the API with a telling user
 * agent, registered a webhook, opened a support ticket, escalated, claimed and noted by an agent,
 * their journey continued as new) is deleted; then every table, every API response about them,
 * the logs and the Temporal history of every run of their journey are searched for each value.
 */

const shippedRules = parse(readFileSync(fileURLToPath(new URL('../../config/rules.yaml', import.meta.url)), 'utf8'));
const TOKEN = 'xoxb-deletion-test';

const PERSONAL = {
  email: 'ada.marker.lovelace@example.com',
  name: 'Ada Marker-Lovelace',
  timezone: 'Pacific/Chatham',
  userAgent: 'AdaMarkerBot/1.0 (ada-marker-laptop)',
  subject: 'Ada-marker cannot create a refund',
  webhookUrl: 'https://ada-marker.example.net/hooks/onramp',
  note: 'Ada-marker said her key leaked on a call',
};

/** The values found in `text`, by name. */
const found = (text: string) =>
  Object.entries(PERSONAL)
    .filter(([, value]) => text.includes(value))
    .map(([name]) => name);

/** As searchable text: payloads' bytes (base64 in a fetched history) decoded, JSON-encoded arguments being UTF-8. */
const asText = (value: unknown) =>
  JSON.stringify(value, (key, v: unknown) =>
    v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : key === 'data' && typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : v,
  );

describe.each(databaseBackends())('a deleted developer leaves nothing personal behind (%s)', (backend) => {
  let h: OnrampHarness;
  let slack: FakeSlack;
  const logs: string[] = [];
  let n = 0;
  while (holdoutBucket(`${backend}-ada-${n}`) < 1000) n++; // not in the holdout: nudged
  const id = `${backend}-ada-${n}`;
  const workflowId = journeyWorkflowId(id);
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  const agent = { authorization: `Bearer ${AGENT_KEY}` };
  const reader = { authorization: `Bearer ${INGEST_KEY}` };
  const get = async (url: string, headers: Record<string, string>) => {
    const response = await h.app.inject({ method: 'GET', url, headers });
    expect(response.statusCode, `${url}: ${response.body}`).toBe(200);
    return response.body;
  };
  const runIds = async () => {
    const runs: string[] = [];
    for await (const execution of h.temporal.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runs.push(execution.runId);
    return runs;
  };
  /** A run's whole history as text, or null once Temporal no longer serves it. */
  const history = async (runId: string) => {
    try {
      return asText(await h.temporal.workflow.getHandle(workflowId, runId).fetchHistory());
    } catch (error) {
      if (error instanceof WorkflowNotFoundError || (error as { code?: number }).code === 5) return null;
      throw error;
    }
  };
  /** Every row of every table, as text. */
  const everyTable = async () => {
    const { rows: tables } = await h.db.pool.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`,
    );
    expect(tables.map((t) => t.name)).toContain('handoff_notes');
    const dump: Record<string, string[]> = {};
    for (const { name } of tables) dump[name] = (await h.db.pool.query<{ row: string }>(`SELECT t::text AS row FROM "${name}" t`)).rows.map((r) => r.row);
    return dump;
  };
  /** Every API response about the developer. */
  const everyResponse = async (caseId: string) => ({
    journey: await get(`/v1/developers/${id}/journey`, reader),
    messages: await get(`/v1/developers/${id}/messages`, reader),
    developerHandoffs: await get(`/v1/developers/${id}/handoffs`, agent),
    handoff: await get(`/v1/handoffs/${encodeURIComponent(caseId)}`, agent),
    handoffs: await get(`/v1/handoffs?developerId=${id}`, agent),
    emails: await get(`/v1/emails?developerId=${id}`, admin),
    developers: await get('/v1/developers', admin),
    audit: await get('/v1/audit', admin),
  });

  beforeAll(async () => {
    slack = await startFakeSlack({ token: TOKEN });
    const gateway = new SlackGateway({ token: TOKEN, slackApiUrl: slack.slackApiUrl, retryConfig: { retries: 1, factor: 1, minTimeout: 10, maxTimeout: 20 } });
    const sink = new Writable({ write: (chunk, _encoding, callback) => (logs.push(String(chunk)), callback()) });
    h = await new OnrampHarness(backend, { gateway }, { logger: createLogger('trace', sink) }).start();
    const rules = structuredClone(shippedRules);
    rules.policy.quietHours = { start: '00:00', end: '00:00' };
    rules.rules.find((r: { id: string }) => r.id === 'first-call-help').when.after = '1s';
    const put = await h.app.inject({
      method: 'PUT',
      url: '/v1/rules',
      headers: admin,
      payload: { source: stringify(rules), author: 'growth@example.com', reason: 'a nudge within the test' },
    });
    expect(put.statusCode, put.body).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
    await slack?.close();
  });

  it('is gone from every table, API response, log line and Temporal history, and their open case is closed', async () => {
    // Two events a run: the journey continues as new between the batches below.
    await h.temporal.workflow.start<typeof onboardingJourney>('onboardingJourney', { workflowId, taskQueue: TASK_QUEUE, args: [{ developerId: id, maxEventsPerRun: 2 }] });
    const at = (s: number) => new Date(Date.now() - 60_000 + s * 1000).toISOString();
    const post = async (events: unknown[]) => expect((await h.post({ events })).statusCode).toBe(202);
    await post([
      {
        id: `${id}-signup`,
        type: 'developer.signed_up',
        developerId: id,
        occurredAt: at(0),
        properties: { email: PERSONAL.email, name: PERSONAL.name, timezone: PERSONAL.timezone, accountType: 'individual', acquisitionChannel: 'paid' },
      },
      { id: `${id}-key`, type: 'api_key.created', developerId: id, occurredAt: at(1), properties: { apiKey: `key_${id}`, mode: 'test' } },
    ]);
    // Nudged (first-call-help, 1 s after the key), then unsubscribed through the email's link.
    const outbox = await eventually(async () => JSON.parse(await get(`/v1/emails?developerId=${id}`, admin)).emails as { text: string }[], {
      until: (e) => e.length === 1,
      timeout: 45_000,
      describe: `the nudge to ${id} in the outbox`,
    });
    const link = new URL(/Unsubscribe: (\S+)/.exec(outbox[0]!.text)![1]!);
    const unsubscribed = await h.unsubscribe(link.pathname + link.search);
    expect(unsubscribed.statusCode, unsubscribed.body).toBe(200);
    await post([
      {
        id: `${id}-req1`,
        type: 'api.request',
        occurredAt: at(10),
        properties: { apiKey: `key_${id}`, endpoint: '/v1/refunds', method: 'POST', status: 200, mode: 'test', userAgent: PERSONAL.userAgent },
      },
      { id: `${id}-hook`, type: 'webhook.registered', developerId: id, occurredAt: at(11), properties: { url: PERSONAL.webhookUrl, mode: 'test' } },
    ]);
    await h.waitForJourney(id, (j) => j.stage === 'first_api_call');
    await post([{ id: `${id}-ticket`, type: 'support.ticket_created', developerId: id, occurredAt: at(20), properties: { subject: PERSONAL.subject } }]);
    const escalated = await h.waitForJourney(id, (j) => j.handoffs.length === 1, 45_000);
    const caseId: string = escalated.handoffs[0].id;
    // Claimed and noted by an agent; the case stays open.
    for (const body of [
      { action: 'claim', actor: 'ana@example.com' },
      { action: 'note', actor: 'ana@example.com', note: PERSONAL.note },
    ]) {
      const acted = await h.app.inject({ method: 'POST', url: `/v1/handoffs/${encodeURIComponent(caseId)}/actions`, headers: agent, payload: body });
      expect(acted.statusCode, acted.body).toBe(200);
    }
    await eventually(() => get(`/v1/handoffs/${encodeURIComponent(caseId)}`, agent), {
      until: (c) => c.includes(PERSONAL.note) && c.includes('"status":"claimed"'),
      timeout: 45_000,
      describe: `the note in case ${caseId}, claimed`,
    });
    await eventually(async () => slack.calls('chat.postMessage').length, { until: (posts) => posts >= 1, timeout: 45_000, describe: 'the case posted to Slack' });
    const runs = await eventually(runIds, { until: (r) => r.length >= 2, timeout: 45_000, describe: `two runs of the journey of ${id}` });

    // Before: the search finds what there is to find. Notes never enter the journey's history;
    // the time zone does (quiet hours are decided on it), until the history is deleted.
    const before = await everyResponse(caseId);
    expect(found(before.messages)).toEqual(['timezone']);
    // The case read whole shows the time zone, as its Slack post does (the email, masked, is not the value searched for).
    expect(found(before.handoff)).toEqual(['timezone', 'note']);
    expect(
      found(
        Object.values(await everyTable())
          .flat()
          .join('\n'),
      ).sort(),
    ).toEqual(Object.keys(PERSONAL).sort());
    const historiesBefore = (await Promise.all(runs.map(history))).join('\n');
    expect(found(historiesBefore)).toEqual(['timezone']);

    const updatesBefore = slack.calls('chat.update').length;
    const deleted = await h.app.inject({ method: 'DELETE', url: `/v1/developers/${id}?author=dpo%40example.com&reason=erasure`, headers: admin });
    expect(deleted.statusCode, deleted.body).toBe(200);
    expect(deleted.json()).toMatchObject({ alreadyDeleted: false, closedCases: [caseId], redacted: { notes: 1, nudgeDecisions: expect.any(Number) } });

    // Temporal deletes asynchronously: every run's history goes.
    for (const runId of runs) await eventually(() => history(runId), { until: (text) => text === null, timeout: 45_000, describe: `the history of run ${runId} deleted` });
    await eventually(runIds, { until: (r) => r.length === 0, timeout: 45_000, describe: `no run of the journey of ${id} left` });

    const tables = await everyTable();
    for (const [table, rows] of Object.entries(tables)) expect(found(rows.join('\n')), `table ${table}`).toEqual([]);
    const after = await everyResponse(caseId);
    for (const [name, body] of Object.entries(after)) expect(found(body), `response ${name}`).toEqual([]);
    expect(found(logs.join(''))).toEqual([]);
    expect(logs.join('')).toContain(`/v1/developers/${id}`); // the logs did record these requests

    // The open case is closed with a recorded reason, out of the agents' queue and the open counts.
    const closed = JSON.parse(after.handoff);
    expect(closed).toMatchObject({ status: 'resolved', outcome: 'developer_deleted' });
    expect(closed.log.at(-1)).toMatchObject({ step: 'resolved', actor: 'dpo@example.com', detail: { outcome: 'developer_deleted' } });
    expect(closed.log.find((s: { step: string }) => s.step === 'note')).toMatchObject({ actor: 'ana@example.com', detail: {} });
    expect(JSON.parse(await get('/v1/handoffs?status=open', agent)).handoffs).toEqual([]);
    expect(JSON.parse(await get('/v1/handoffs?status=claimed', agent)).handoffs).toEqual([]);
    expect(JSON.parse(await get('/v1/metrics/automation', admin)).handoffs.byStatus).toMatchObject({ open: 0, claimed: 0, snoozed: 0, resolved: 1 });
    // Its Slack message says so, and no longer shows the time zone.
    const updates = slack.calls('chat.update').slice(updatesBefore);
    expect(updates.length).toBeGreaterThan(0);
    expect(asText(updates.at(-1)!.params)).toContain('developer_deleted');
    expect(found(asText(updates.at(-1)!.params))).toEqual([]);
    // A case action now answers 409, as for any closed case.
    expect(
      (await h.app.inject({ method: 'POST', url: `/v1/handoffs/${encodeURIComponent(caseId)}/actions`, headers: agent, payload: { action: 'claim', actor: 'ana@example.com' } }))
        .statusCode,
    ).toBe(409);
  }, 180_000);
});
