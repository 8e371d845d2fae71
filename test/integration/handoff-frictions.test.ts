import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ModalView } from '@slack/web-api';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackGateway } from '../../src/slack/slack-gateway.ts';
import { ACTION_IDS } from '../../src/slack/slack-interaction.ts';
import { eventually } from '../support/eventually.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { ADMIN_KEY, AGENT_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { blockAction, resolveSubmission, signedInteraction } from '../support/slack-requests.ts';
import { signupWithKey } from '../support/signup-events.ts';
import { databaseBackends } from '../support/test-databases.ts';

const SIGNING_SECRET = 'slack-signing-secret-for-frictions-0123';
const TOKEN = 'xoxb-handoff-frictions-test';
const shippedPolicy = parse(readFileSync(fileURLToPath(new URL('../../config/escalation.yaml', import.meta.url)), 'utf8'));

describe.each(databaseBackends())('a friction recorded on resolve (dev server, HTTP API and Slack, %s)', (backend) => {
  let h: OnrampHarness;
  let slack: FakeSlack;
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  const agent = { authorization: `Bearer ${AGENT_KEY}` };

  beforeAll(async () => {
    slack = await startFakeSlack({ token: TOKEN });
    const gateway = new SlackGateway({ token: TOKEN, slackApiUrl: slack.slackApiUrl, retryConfig: { retries: 1, factor: 1, minTimeout: 10, maxTimeout: 20 } });
    h = await new OnrampHarness(backend, { signingSecret: SIGNING_SECRET, gateway }).start();
    // The frictions come from the policy in force: here one with a label of its own.
    const policy = { ...shippedPolicy, frictions: ['authentication_confusion', 'missing_docs', { id: 'sandbox_limits', label: 'Sandbox limits' }] };
    const put = await h.app.inject({
      method: 'PUT',
      url: '/v1/escalation-policy',
      headers: admin,
      payload: { source: stringify(policy), author: 'lead@example.com', reason: 'test' },
    });
    expect(put.statusCode, put.body).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
    await slack?.close();
  });

  const handoff = async (id: string) => (await h.app.inject({ method: 'GET', url: `/v1/handoffs/${encodeURIComponent(id)}`, headers: agent })).json();
  const act = (caseId: string, body: Record<string, unknown>, headers: Record<string, string> = agent) =>
    h.app.inject({ method: 'POST', url: `/v1/handoffs/${encodeURIComponent(caseId)}/actions`, headers, payload: body });
  const interact = (payload: unknown) => {
    const { headers, body } = signedInteraction({ signingSecret: SIGNING_SECRET, payload });
    return h.app.inject({ method: 'POST', url: '/slack/interactions', headers, payload: body });
  };

  /** A developer with a support ticket: a case opened at once, posted in Slack. */
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

  it('API: an unknown friction is a 400 naming `friction` that changes nothing; a known one is kept with the case and shown in its log', async () => {
    const caseId = await escalated(`${backend}_fr_api`);
    const whole = await handoff(caseId);
    expect(whole.frictions).toEqual([
      { id: 'authentication_confusion', label: 'Authentication confusion' },
      { id: 'missing_docs', label: 'Missing docs' },
      { id: 'sandbox_limits', label: 'Sandbox limits' },
    ]);
    expect(whole.friction).toBeNull();

    for (const friction of ['rate_limits', 'Not An Id']) {
      const refused = await act(caseId, { action: 'resolve', actor: 'ana@example.com', outcome: 'unblocked', friction, note: 'rotated the key' });
      expect(refused.statusCode, friction).toBe(400);
      expect(refused.json().errors[0].path).toBe('friction');
    }
    expect((await act(caseId, { action: 'resolve', actor: 'ana@example.com', outcome: 'unblocked', friction: 'rate_limits' })).json().errors[0].message).toBe(
      '"rate_limits" is not one of the escalation policy\'s frictions: authentication_confusion, missing_docs, sandbox_limits',
    );
    const untouched = await handoff(caseId);
    expect(untouched).toMatchObject({ status: 'open', friction: null });
    expect(untouched.log.map((s: any) => s.step)).toEqual(['escalated']);
    expect(await h.prisma.handoffNote.count({ where: { handoffId: caseId } })).toBe(0);

    // A refused resolve (an outcome not the case's) stores no friction either.
    expect((await act(caseId, { action: 'resolve', actor: 'ana@example.com', outcome: 'shrug', friction: 'missing_docs' })).statusCode).toBe(400);
    expect((await h.prisma.handoff.findUnique({ where: { id: caseId } }))!.friction).toBeNull();

    const resolved = await act(caseId, { action: 'resolve', actor: 'ana@example.com', outcome: 'unblocked', friction: 'sandbox_limits' }, { ...agent, 'idempotency-key': 'fr-1' });
    expect(resolved.statusCode, resolved.body).toBe(200);
    expect(resolved.json().case).toMatchObject({ status: 'resolved', outcome: 'unblocked', friction: 'sandbox_limits' });
    // The same request again is answered the same; the friction stays.
    const retried = await act(caseId, { action: 'resolve', actor: 'ana@example.com', outcome: 'unblocked', friction: 'sandbox_limits' }, { ...agent, 'idempotency-key': 'fr-1' });
    expect(retried.json().case).toMatchObject({ friction: 'sandbox_limits' });
    const after = await eventually(() => handoff(caseId), { until: (c) => c.log.some((s: any) => s.step === 'resolved'), describe: `${caseId} resolved in its log` });
    expect(after).toMatchObject({ status: 'resolved', friction: 'sandbox_limits' });
    expect(after.log.at(-1)).toMatchObject({ step: 'resolved', actor: 'ana@example.com', detail: { outcome: 'unblocked', friction: 'sandbox_limits' } });
    const listed = (await h.app.inject({ method: 'GET', url: `/v1/handoffs?developer=${backend}_fr_api`, headers: agent })).json();
    expect(listed.handoffs[0]).toMatchObject({ status: 'resolved', friction: 'sandbox_limits' });

    // Without a friction, as before: optional.
    const plain = await escalated(`${backend}_fr_none`);
    const noFriction = await act(plain, { action: 'resolve', actor: 'ana@example.com', outcome: 'bug-filed' });
    expect(noFriction.json().case).toMatchObject({ status: 'resolved', friction: null });
  });

  it('Slack: picking an outcome opens the resolve modal (friction select of the policy in force); the submitted friction is recorded, an unknown one is shown in the modal', async () => {
    const caseId = await escalated(`${backend}_fr_slack`);
    const channel = slack.channelId('#onboarding-help')!;
    await interact(blockAction({ caseId, actionId: ACTION_IDS.resolve, selected: 'not-a-fit', user: 'U0AGENT1', channel }));
    const opened = await eventually(() => slack.views().filter((v) => (v.view as { callback_id?: string }).callback_id === 'onramp.resolve'), {
      until: (v) => v.length > 0,
      describe: 'the resolve modal opened',
    });
    const modal = opened.at(-1)!.view as unknown as ModalView;
    const blocks = modal.blocks as {
      block_id?: string;
      optional?: boolean;
      element?: { initial_option?: { value: string }; options?: { value: string; text: { text: string } }[] };
    }[];
    const friction = blocks.find((b) => b.block_id === 'friction')!;
    expect(friction.optional).toBe(true);
    expect(friction.element!.options!.map((o) => [o.value, o.text.text])).toEqual([
      ['authentication_confusion', 'Authentication confusion'],
      ['missing_docs', 'Missing docs'],
      ['sandbox_limits', 'Sandbox limits'],
    ]);
    expect(blocks.find((b) => b.block_id === 'outcome')!.element!.initial_option!.value).toBe('not-a-fit');
    // Picking opened the modal only: the case is still open.
    expect((await handoff(caseId)).status).toBe('open');

    // A friction not in the policy (a stale modal after a policy change): the modal shows the error, nothing changes.
    const stale = await interact(resolveSubmission({ modal, user: 'U0AGENT1', outcome: 'not-a-fit', friction: 'rate_limits' }));
    expect(stale.statusCode).toBe(200);
    expect(stale.json()).toEqual({ response_action: 'errors', errors: { friction: expect.stringContaining('"rate_limits" is not one of') } });

    const submitted = await interact(resolveSubmission({ modal, user: 'U0AGENT1', outcome: 'not-a-fit', friction: 'missing_docs', note: 'They wanted GraphQL' }));
    expect(submitted.statusCode).toBe(200);
    const resolved = await eventually(() => handoff(caseId), { until: (c) => c.status === 'resolved' && c.friction !== null, describe: `${caseId} resolved with a friction` });
    expect(resolved).toMatchObject({ outcome: 'not-a-fit', friction: 'missing_docs' });
    expect(resolved.log.at(-1)).toMatchObject({ step: 'resolved', actor: 'U0AGENT1', detail: { outcome: 'not-a-fit', friction: 'missing_docs', note: 'They wanted GraphQL' } });
    // The friction travels with the resolve: the thread's reply names it.
    await eventually(() => slack.messages('#onboarding-help').filter((m) => m.thread_ts && m.text.includes('Resolved by') && m.text.includes('friction: missing_docs')), {
      until: (replies) => replies.length === 1,
      describe: 'the resolve reply naming the friction',
    });
  });
});
