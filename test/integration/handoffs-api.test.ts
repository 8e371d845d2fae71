import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ModalView } from '@slack/web-api';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pathSafeCaseId } from '../../src/cases/case-id.ts';
import { SlackGateway } from '../../src/slack/slack-gateway.ts';
import { ACTION_IDS } from '../../src/slack/slack-interaction.ts';
import { journeyWorkflowId } from '../../workflows/journey-messages.ts';
import { eventually } from '../support/eventually.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { ADMIN_KEY, AGENT_KEY, INGEST_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { blockAction, noteSubmission, resolveSubmission, signedInteraction } from '../support/slack-requests.ts';
import { signupWithKey } from '../support/signup-events.ts';
import { seedRiskCohort } from '../support/risk-cohort.ts';
import { databaseBackends } from '../support/test-databases.ts';

const SIGNING_SECRET = 'slack-signing-secret-for-tests-0123';
const TOKEN = 'xoxb-handoff-api-test';
const shippedPolicy = parse(readFileSync(fileURLToPath(new URL('../../config/escalation.yaml', import.meta.url)), 'utf8'));

describe('handoff through the HTTP API and Slack interactions (dev server, real WebClient against a local Slack)', () => {
  const backend = databaseBackends()[0]!;
  let h: OnrampHarness;
  let slack: FakeSlack;
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  const agent = { authorization: `Bearer ${AGENT_KEY}` };
  const reader = { authorization: `Bearer ${INGEST_KEY}` };

  beforeAll(async () => {
    slack = await startFakeSlack({ token: TOKEN });
    slack.setUsergroup('S0AGENTS', ['U0GROUPIE']);
    const gateway = new SlackGateway({ token: TOKEN, slackApiUrl: slack.slackApiUrl, retryConfig: { retries: 1, factor: 1, minTimeout: 10, maxTimeout: 20 } });
    h = await new OnrampHarness(backend, { signingSecret: SIGNING_SECRET, gateway }).start();
    const policy = { ...shippedPolicy, agents: { users: ['U0AGENT1'], userGroups: ['S0AGENTS'] } };
    const put = await h.app.inject({
      method: 'PUT',
      url: '/v1/escalation-policy',
      headers: admin,
      payload: { source: stringify(policy), author: 'support-lead@example.com', reason: 'only the onboarding team acts' },
    });
    expect(put.statusCode, put.body).toBe(201);
    // The history the stagnation risk's curves learn from (built at the first list, kept five minutes).
    await seedRiskCohort(h.db.pool, Date.now() - 40 * 24 * 3_600_000);
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
    await slack?.close();
  });

  const handoff = async (id: string) => (await h.app.inject({ method: 'GET', url: `/v1/handoffs/${encodeURIComponent(id)}`, headers: agent })).json();
  const interact = (payload: unknown, options: { secret?: string; timestamp?: number } = {}) => {
    const { headers, body } = signedInteraction({ signingSecret: options.secret ?? SIGNING_SECRET, payload, ...(options.timestamp ? { timestamp: options.timestamp } : {}) });
    return h.app.inject({ method: 'POST', url: '/slack/interactions', headers, payload: body });
  };
  /** Handoff actions the journey has answered: Updates completed in its history. */
  const updatesCompleted = async (developerId: string) =>
    (await h.temporal.workflow.getHandle(journeyWorkflowId(developerId)).fetchHistory()).events!.filter((e) => e.workflowExecutionUpdateCompletedEventAttributes).length;
  const act = (caseId: string, body: Record<string, unknown>, headers: Record<string, string> = agent) =>
    h.app.inject({ method: 'POST', url: `/v1/handoffs/${encodeURIComponent(caseId)}/actions`, headers, payload: body });

  /** A developer with a support ticket: escalated at once. */
  async function escalated(id: string): Promise<string> {
    const now = new Date().toISOString();
    const posted = await h.post({
      events: [
        ...signupWithKey(id, now, { email: `${id.replace(/[^\w.-]/g, '_')}@example.com`, accountType: 'organization', acquisitionChannel: 'organic_search', timezone: 'UTC' }),
        { id: `${id}-t`, type: 'support.ticket_created', developerId: id, occurredAt: now, properties: { subject: 'my key is refused' } },
      ],
    });
    expect(posted.statusCode, posted.body).toBe(202);
    const caseId = `${id}/h1`;
    const open = await eventually(() => handoff(caseId), { until: (c) => c.status === 'open', describe: `case ${caseId} open` });
    expect(open).toMatchObject({ status: 'open', criterion: 'support_ticket', level: 1 });
    await eventually(() => slack.messages('#onboarding-help').filter((m) => !m.thread_ts && m.text.includes(id)), {
      until: (m) => m.length > 0,
      describe: `the case of ${id} posted in #onboarding-help`,
    });
    return caseId;
  }

  it('refuses forged, stale and replayed Slack requests before anything else, and acts on a genuine click', async () => {
    const caseId = await escalated(`${backend}_slack`);
    const claim = blockAction({ caseId, actionId: ACTION_IDS.claim, user: 'U0AGENT1', channel: slack.channelId('#onboarding-help')! });

    const forged = await interact(claim, { secret: 'not-the-signing-secret-at-all' });
    expect(forged.statusCode).toBe(401);
    const stale = await interact(claim, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.statusCode).toBe(401);
    const unsigned = await h.app.inject({
      method: 'POST',
      url: '/slack/interactions',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'payload=%7B%7D',
    });
    expect(unsigned.statusCode).toBe(401);
    expect((await handoff(caseId)).status).toBe('open'); // nothing changed: each was refused before any work began

    const { headers, body } = signedInteraction({ signingSecret: SIGNING_SECRET, payload: claim });
    const genuine = await h.app.inject({ method: 'POST', url: '/slack/interactions', headers, payload: body });
    expect(genuine.statusCode).toBe(200);
    const replayed = await h.app.inject({ method: 'POST', url: '/slack/interactions', headers, payload: body });
    expect(replayed.statusCode).toBe(401);
    expect(replayed.json().errors[0].message).toBe('replayed request');
    const claimed = await eventually(() => handoff(caseId), { until: (c) => c.status === 'claimed', describe: `case ${caseId} claimed` });
    expect(claimed).toMatchObject({ status: 'claimed', owner: 'U0AGENT1' });
    // A double click (a second, genuine request) changes nothing twice.
    expect((await interact(blockAction({ caseId, actionId: ACTION_IDS.claim, user: 'U0AGENT1' }))).statusCode).toBe(200);
    await eventually(() => updatesCompleted(`${backend}_slack`), { until: (n) => n === 2, describe: 'the journey answered both claims' });
    expect((await handoff(caseId)).log.filter((s: any) => s.step === 'claimed')).toHaveLength(1);
  });

  it('lets only the allowed agents act from Slack, opens the note modal, takes the note, answers a closed case ephemerally', async () => {
    const caseId = await escalated(`${backend}_agents`);
    const channel = slack.channelId('#onboarding-help')!;
    await interact(blockAction({ caseId, actionId: ACTION_IDS.claim, user: 'U0STRANGER', channel }));
    const refusal = await eventually(() => slack.ephemerals().filter((e) => e.user === 'U0STRANGER'), { until: (e) => e.length > 0, describe: 'a refusal shown to U0STRANGER' });
    expect(refusal[0]!.text).toMatch(/not one of the agents/);
    expect((await handoff(caseId)).status).toBe('open');

    // A member of the allowed user group may act.
    await interact(blockAction({ caseId, actionId: ACTION_IDS.note, user: 'U0GROUPIE', channel }));
    await eventually(() => slack.views(), { until: (v) => v.length > 0, describe: 'the note modal opened' });
    expect(slack.views().at(-1)!.view).toMatchObject({ callback_id: 'onramp.note' });
    expect((await interact(noteSubmission({ caseId, user: 'U0GROUPIE', text: 'Their key is a live key on the test host' }))).statusCode).toBe(200);
    const noted = await eventually(() => handoff(caseId), { until: (c) => c.log.some((s: any) => s.step === 'note'), describe: `a note in the log of ${caseId}` });
    expect(noted.log.find((s: any) => s.step === 'note')).toMatchObject({ actor: 'U0GROUPIE', detail: { text: 'Their key is a live key on the test host' } });

    // Picking an outcome opens the resolve modal; its submission resolves.
    await interact(blockAction({ caseId, actionId: ACTION_IDS.resolve, selected: 'bug-filed', user: 'U0AGENT1', channel }));
    const resolveModal = await eventually(() => slack.views().find((v) => (v.view as { callback_id?: string }).callback_id === 'onramp.resolve'), {
      until: (v) => v !== undefined,
      describe: 'the resolve modal opened',
    });
    expect((await interact(resolveSubmission({ modal: resolveModal!.view as unknown as ModalView, user: 'U0AGENT1', outcome: 'bug-filed' }))).statusCode).toBe(200);
    await eventually(() => handoff(caseId), { until: (c) => c.status === 'resolved', describe: `case ${caseId} resolved` });
    await interact(blockAction({ caseId, actionId: ACTION_IDS.return, user: 'U0AGENT1', channel }));
    const closed = await eventually(() => slack.ephemerals().filter((e) => e.user === 'U0AGENT1'), {
      until: (e) => e.length > 0,
      describe: 'the closed-case answer shown to U0AGENT1',
    });
    expect(closed[0]!.text).toMatch(/closed/);
  });

  it('offers the same actions without Slack: list by status, act with an agent key, precise errors', async () => {
    const caseId = await escalated(`${backend}_api`);
    // The case as the API shows it is what the Slack post shows: the same contact (masked), the same provenance.
    const { context } = await handoff(caseId);
    const post = JSON.stringify(slack.messages('#onboarding-help').find((m) => !m.thread_ts && m.text.includes(`${backend}_api`))!.blocks);
    expect(context.developer.email).toBe(`${backend[0]}***@example.com`);
    expect(post).toContain(context.developer.email);
    expect(post).toContain(`criterion \`${context.escalation.criterion}\``);
    expect(post).toContain(`escalation policy v${context.escalation.policyVersion}`);
    const list = await h.app.inject({ method: 'GET', url: '/v1/handoffs?status=open&limit=100', headers: agent });
    expect(list.statusCode).toBe(200);
    expect(list.json().handoffs.map((c: any) => c.id)).toContain(pathSafeCaseId(caseId));
    expect((await h.app.inject({ method: 'GET', url: '/v1/handoffs', headers: reader })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'GET', url: '/v1/handoffs?status=lost', headers: agent })).statusCode).toBe(400);

    expect((await act(caseId, { action: 'claim', actor: 'ana@example.com' }, reader)).statusCode).toBe(401);
    const claimed = await act(caseId, { action: 'claim', actor: 'ana@example.com' });
    expect(claimed.statusCode, claimed.body).toBe(200);
    expect(claimed.json()).toMatchObject({ changed: true, case: { status: 'claimed', owner: 'ana@example.com' } });
    const snoozed = await act(caseId, { action: 'snooze', actor: 'ana@example.com', for: '1h' }, admin);
    expect(snoozed.json().case).toMatchObject({ status: 'snoozed' });
    const badSnooze = await act(caseId, { action: 'snooze', actor: 'ana@example.com', for: 'soon' });
    expect(badSnooze.statusCode).toBe(400);
    expect(badSnooze.json().errors[0].path).toBe('for');
    const badOutcome = await act(caseId, { action: 'resolve', actor: 'ana@example.com', outcome: 'shrug' });
    expect(badOutcome.statusCode).toBe(400);
    expect(badOutcome.json().errors[0]).toMatchObject({ path: 'outcome', message: expect.stringContaining('unblocked') });
    const resolved = await act(
      caseId,
      { action: 'resolve', actor: 'ana@example.com', outcome: 'unblocked', note: 'rotated the key' },
      { ...agent, 'idempotency-key': 'resolve-1' },
    );
    expect(resolved.json().case).toMatchObject({ status: 'resolved', outcome: 'unblocked' });
    // The same request again (a retry) is answered the same; another action on the closed case is a 409.
    const retried = await act(caseId, { action: 'resolve', actor: 'ana@example.com', outcome: 'unblocked', note: 'rotated the key' }, { ...agent, 'idempotency-key': 'resolve-1' });
    expect(retried.statusCode).toBe(200);
    expect((await act(caseId, { action: 'note', actor: 'ana@example.com', note: 'late' })).statusCode).toBe(409);
    expect((await act(`${caseId}9`, { action: 'claim', actor: 'ana@example.com' })).statusCode).toBe(404);

    const mine = (await h.app.inject({ method: 'GET', url: `/v1/developers/${backend}_api/handoffs`, headers: reader })).json();
    expect(mine.handoffs[0].log.map((s: any) => s.step)).toEqual(['escalated', 'claimed', 'snoozed', 'resolved']);
    expect(mine.handoffs[0].log[1].snapshot).toMatchObject({ stage: 'credential_provisioned' });
    const journey = (await h.journey(`${backend}_api`)).body;
    expect(journey.handoffs.map((c: any) => [c.id, c.status])).toEqual([[pathSafeCaseId(caseId), 'resolved']]);
  });

  it("ranks the queue by the developer's stagnation risk (order=risk), a page at a time, and shows each case's risk", async () => {
    /** A developer who got their key `hoursAgo` and has just opened a ticket. */
    const ticketAfter = async (id: string, hoursAgo: number) => {
      const keyAt = new Date(Date.now() - hoursAgo * 3_600_000).toISOString();
      const events = [
        ...signupWithKey(id, keyAt, { email: `${id}@example.com`, accountType: 'individual', acquisitionChannel: 'organic_search', timezone: 'UTC' }),
        { id: `${id}-t`, type: 'support.ticket_created', developerId: id, occurredAt: new Date().toISOString(), properties: { subject: 'stuck' } },
      ];
      expect((await h.post({ events })).statusCode).toBe(202);
      await eventually(() => handoff(`${id}/h1`), { until: (c) => c.status === 'open', describe: `case ${id}/h1 open` });
    };
    // In credential_provisioned for 13 h: past the cohort's 12 h, every one still there never called (risk 1); just now: about 0.4.
    const [late, fresh] = [`${backend}_risk_late`, `${backend}_risk_fresh`];
    await ticketAfter(fresh, 0);
    await ticketAfter(late, 13);
    const byRisk = await h.app.inject({ method: 'GET', url: '/v1/handoffs?status=open&order=risk&limit=200', headers: agent });
    expect(byRisk.statusCode, byRisk.body).toBe(200);
    const ranked = byRisk.json().handoffs as { developerId: string; summary: { risk: number | null } }[];
    const risk = (id: string) => ranked.find((c) => c.developerId === id)!.summary.risk!;
    expect(risk(late)).toBeGreaterThan(0.9);
    expect(risk(fresh)).toBeGreaterThan(0.3);
    expect(risk(fresh)).toBeLessThan(0.5);
    expect(ranked.findIndex((c) => c.developerId === late)).toBeLessThan(ranked.findIndex((c) => c.developerId === fresh));
    const risks = ranked.map((c) => c.summary.risk ?? -1);
    expect(risks).toEqual([...risks].sort((a, b) => b - a)); // riskiest first, unavailable last
    // A page at a time: the same ranking.
    const paged: string[] = [];
    for (let cursor: string | null = null, pages = 0; pages === 0 || cursor; pages++) {
      const page: any = (await h.app.inject({ method: 'GET', url: `/v1/handoffs?status=open&order=risk&limit=1${cursor ? `&cursor=${cursor}` : ''}`, headers: agent })).json();
      paged.push(...page.handoffs.map((c: any) => c.developerId));
      cursor = page.nextCursor;
    }
    expect(paged).toEqual(ranked.map((c) => c.developerId));
    // The queue is what is ranked: closed cases are not.
    const refused = await h.app.inject({ method: 'GET', url: '/v1/handoffs?status=resolved&order=risk', headers: agent });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().errors[0]).toMatchObject({ path: 'order', message: expect.stringContaining('open, claimed, snoozed, active') });
  });

  it('shows path-safe case ids, usable in a URL as they are, for any developer id; takes the older form percent-encoded', async () => {
    const developerId = `${backend}_org/acme:user 7.h1`;
    await escalated(developerId);
    const shown = (await h.app.inject({ method: 'GET', url: `/v1/developers/${encodeURIComponent(developerId)}/handoffs`, headers: agent })).json().handoffs[0].id;
    expect(shown).toBe(`${backend}_org~2Facme~3Auser~207.h1.h1`);
    expect(encodeURIComponent(shown)).toBe(shown);
    const read = await h.app.inject({ method: 'GET', url: `/v1/handoffs/${shown}`, headers: agent });
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json()).toMatchObject({ id: shown, developerId, status: 'open' });
    // The form in links already posted to Slack (`<developerId>/h<n>`), percent-encoded, names the same case.
    const old = await h.app.inject({ method: 'GET', url: `/v1/handoffs/${encodeURIComponent(`${developerId}/h1`)}`, headers: agent });
    expect(old.statusCode, old.body).toBe(200);
    expect(old.json().id).toBe(shown);
    const claimed = await h.app.inject({ method: 'POST', url: `/v1/handoffs/${shown}/actions`, headers: agent, payload: { action: 'claim', actor: 'ana@example.com' } });
    expect(claimed.statusCode, claimed.body).toBe(200);
    expect(claimed.json().case).toMatchObject({ id: shown, status: 'claimed' });
    // An escape of a byte kept as it is, or of bytes that are no UTF-8, names no case.
    for (const wrong of [shown.replace('_org', '~5Forg'), `${backend}_org~FF.h1`, `${shown}x`]) {
      const response = await h.app.inject({ method: 'GET', url: `/v1/handoffs/${encodeURIComponent(wrong)}`, headers: agent });
      expect(response.statusCode, wrong).toBe(404);
      expect(response.json()).toEqual({ errors: [{ path: 'id', message: `no case ${wrong}` }] });
    }
  });
});
