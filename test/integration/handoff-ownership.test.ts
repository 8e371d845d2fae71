import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackGateway } from '../../src/slack/slack-gateway.ts';
import { ACTION_IDS } from '../../src/slack/slack-interaction.ts';
import { eventually } from '../support/eventually.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { ADMIN_KEY, AGENT_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { blockAction, signedInteraction } from '../support/slack-requests.ts';
import { signupWithKey } from '../support/signup-events.ts';
import { databaseBackends } from '../support/test-databases.ts';

const SIGNING_SECRET = 'slack-signing-secret-for-ownership-0123';
const TOKEN = 'xoxb-handoff-ownership-test';
const shippedPolicy = parse(readFileSync(fileURLToPath(new URL('../../config/escalation.yaml', import.meta.url)), 'utf8'));

describe.each(databaseBackends())('who may act on a claimed case (dev server, HTTP API and Slack, %s)', (backend) => {
  let h: OnrampHarness;
  let slack: FakeSlack;
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  const agent = { authorization: `Bearer ${AGENT_KEY}` };

  beforeAll(async () => {
    slack = await startFakeSlack({ token: TOKEN });
    const gateway = new SlackGateway({ token: TOKEN, slackApiUrl: slack.slackApiUrl, retryConfig: { retries: 1, factor: 1, minTimeout: 10, maxTimeout: 20 } });
    h = await new OnrampHarness(backend, { signingSecret: SIGNING_SECRET, gateway }).start();
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
  const setPolicy = async (policy: Record<string, unknown>) => {
    const put = await h.app.inject({
      method: 'PUT',
      url: '/v1/escalation-policy',
      headers: admin,
      payload: { source: stringify(policy), author: 'lead@example.com', reason: 'test' },
    });
    expect(put.statusCode, put.body).toBe(201);
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
    await eventually(() => slack.messages('#onboarding-help').filter((m) => !m.thread_ts && m.text.includes(id)), {
      until: (m) => m.length > 0,
      describe: `the case of ${id} posted`,
    });
    return caseId;
  }

  it("refuses a non-owner's claim and actions (409 naming the owner, nothing stored), takes over only with takeOver, lets the admin key act", async () => {
    const caseId = await escalated(`${backend}_own_api`);
    expect((await act(caseId, { action: 'claim', actor: 'ana@example.com' })).statusCode).toBe(200);
    const logBefore = (await handoff(caseId)).log.length;

    const claim = await act(caseId, { action: 'claim', actor: 'bo@example.com' });
    expect(claim.statusCode).toBe(409);
    expect(claim.json()).toEqual({ errors: [{ path: 'takeOver', message: `case ${caseId} is claimed by ana@example.com: claim with takeOver to take it over` }] });
    for (const body of [
      { action: 'note', note: 'let me' },
      { action: 'snooze', for: '1h' },
      { action: 'return', note: 'back to automation' },
      { action: 'resolve', outcome: 'unblocked' },
    ]) {
      const refused = await act(caseId, { ...body, actor: 'bo@example.com' });
      expect(refused.statusCode, body.action).toBe(409);
      expect(refused.json().errors[0]).toMatchObject({ path: 'actor', message: expect.stringContaining('claimed by ana@example.com') });
    }
    const { log, owner } = await handoff(caseId);
    expect(owner).toBe('ana@example.com');
    expect(log).toHaveLength(logBefore);
    expect(await h.prisma.handoffNote.count({ where: { handoffId: caseId } })).toBe(0); // the refused notes' text is not kept

    const taken = await act(caseId, { action: 'claim', actor: 'bo@example.com', takeOver: true });
    expect(taken.statusCode, taken.body).toBe(200);
    expect(taken.json().case).toMatchObject({ status: 'claimed', owner: 'bo@example.com' });
    expect((await handoff(caseId)).log.at(-1)).toMatchObject({ step: 'claimed', actor: 'bo@example.com', detail: { from: 'ana@example.com' } });
    expect((await act(caseId, { action: 'note', actor: 'ana@example.com', note: 'was mine' })).statusCode).toBe(409);

    // The admin key acts on anyone's case, and the log says it was the admin key.
    const noted = await act(caseId, { action: 'note', actor: 'lead@example.com', note: 'checked by the lead' }, admin);
    expect(noted.statusCode, noted.body).toBe(200);
    const resolved = await act(caseId, { action: 'resolve', actor: 'lead@example.com', outcome: 'unblocked' }, admin);
    expect(resolved.statusCode, resolved.body).toBe(200);
    expect((await handoff(caseId)).log.slice(-2).map((s: any) => [s.step, s.actor])).toEqual([
      ['note', 'admin (lead@example.com)'],
      ['resolved', 'admin (lead@example.com)'],
    ]);
  });

  it("answers a Slack user acting on someone else's case ephemerally, naming the owner, and offers Take over", async () => {
    const caseId = await escalated(`${backend}_own_slack`);
    const channel = slack.channelId('#onboarding-help')!;
    await interact(blockAction({ caseId, actionId: ACTION_IDS.claim, user: 'U0OWNER', channel }));
    await eventually(() => handoff(caseId), { until: (c) => c.owner === 'U0OWNER', describe: `${caseId} claimed by U0OWNER` });
    // The post, not a reply (Slack marks a parent with its own ts as thread_ts).
    const post = await eventually(() => slack.messages('#onboarding-help').find((m) => (m.thread_ts ?? m.ts) === m.ts && m.text.includes(`${backend}_own_slack`)), {
      until: (m) => m !== undefined && JSON.stringify(m.blocks).includes(ACTION_IDS.takeOver),
      describe: 'the case message offering Take over',
    });
    expect(JSON.stringify(post!.blocks)).not.toContain(`"${ACTION_IDS.claim}"`);

    await interact(blockAction({ caseId, actionId: ACTION_IDS.resolve, selected: 'unblocked', user: 'U0OTHER', channel }));
    const refusal = await eventually(() => slack.ephemerals().filter((e) => e.user === 'U0OTHER'), { until: (e) => e.length > 0, describe: 'a refusal shown to U0OTHER' });
    expect(refusal[0]!.text).toBe('This case is claimed by <@U0OWNER>: only they may act on it. Use *Take over* to make it yours.');
    expect((await handoff(caseId)).status).toBe('claimed');
    // Add note opens no modal on someone else's case: the same refusal, at once.
    const modals = slack.views().length;
    await interact(blockAction({ caseId, actionId: ACTION_IDS.note, user: 'U0OTHER', channel }));
    await eventually(() => slack.ephemerals().filter((e) => e.user === 'U0OTHER'), { until: (e) => e.length > 1, describe: 'a second refusal shown to U0OTHER' });
    expect(slack.views()).toHaveLength(modals);

    await interact(blockAction({ caseId, actionId: ACTION_IDS.takeOver, user: 'U0OTHER', channel }));
    const taken = await eventually(() => handoff(caseId), { until: (c) => c.owner === 'U0OTHER', describe: `${caseId} taken over by U0OTHER` });
    expect(taken.log.at(-1)).toMatchObject({ step: 'claimed', actor: 'U0OTHER', detail: { from: 'U0OWNER' } });
  });

  it('lets any agent act on a claimed case when the policy says so; taking over stays explicit', async () => {
    const caseId = await escalated(`${backend}_own_policy`);
    expect((await act(caseId, { action: 'claim', actor: 'ana@example.com' })).statusCode).toBe(200);
    await setPolicy({ ...shippedPolicy, agents: { ...shippedPolicy.agents, anyMayAct: true } });
    try {
      const noted = await act(caseId, { action: 'note', actor: 'bo@example.com', note: 'covering for ana' });
      expect(noted.statusCode, noted.body).toBe(200);
      expect(noted.json().case).toMatchObject({ owner: 'ana@example.com' });
      expect((await act(caseId, { action: 'claim', actor: 'bo@example.com' })).statusCode).toBe(409);
      const resolved = await act(caseId, { action: 'resolve', actor: 'bo@example.com', outcome: 'unblocked' });
      expect(resolved.statusCode, resolved.body).toBe(200);
      expect((await handoff(caseId)).log.slice(-2).map((s: any) => [s.step, s.actor])).toEqual([
        ['note', 'bo@example.com'],
        ['resolved', 'bo@example.com'],
      ]);
    } finally {
      await setPolicy(shippedPolicy);
    }
  });
});
