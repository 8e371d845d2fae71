import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { SlackGateway } from '../../src/slack/slack-gateway.ts';
import type { JourneyEvent } from '../../src/journey/journey-event.ts';
import { activityFailures } from '../../src/metrics/process-metrics.ts';
import { handoffActionUpdate, journeyWorkflowId, type HandoffActionInput } from '../../workflows/journey-messages.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { eventually } from '../support/eventually.ts';
import { immediateRules, SHIPPED_POLICY, startJourneySandbox, type JourneySandbox } from '../support/journey-sandbox.ts';
import { databaseBackends } from '../support/test-databases.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const taskQueue = 'handoff-test';
const TOKEN = 'xoxb-test-token';

let sandbox: JourneySandbox;
let env: TestWorkflowEnvironment;
let db: Database;
let slack: FakeSlack;

let developers = 0;
async function developer(): Promise<string> {
  const id = `dev_handoff_${developers++}`;
  await db.pool.query(
    `INSERT INTO developers (id, email, account_type, org_id, acquisition_channel, timezone) VALUES ($1, $2, 'individual', 'org_7', 'listing_site', 'Europe/Paris')`,
    [id, `${id}@example.com`],
  );
  return id;
}

const signal = (developerId: string, events: JourneyEvent[]) => sandbox.signal(developerId, events);

const iso = (ms: number) => new Date(ms).toISOString();
/** Signup and a key now (workflow time): the stall clocks start here. */
async function start(developerId: string) {
  const now = Date.parse(iso(await env.currentTimeMs()));
  await signal(developerId, [
    {
      id: `${developerId}-signup`,
      type: 'developer.signed_up',
      occurredAt: iso(now - HOUR),
      properties: { accountType: 'individual', acquisitionChannel: 'listing_site', timezone: 'Europe/Paris' },
    },
    { id: `${developerId}-key`, type: 'api_key.created', occurredAt: iso(now), properties: { mode: 'test' } },
  ]);
  return now;
}

const act = (developerId: string, input: Omit<HandoffActionInput, 'caseId'>, caseNumber = 1) =>
  env.client.workflow.getHandle(journeyWorkflowId(developerId)).executeUpdate(handoffActionUpdate, { args: [{ ...input, caseId: `${developerId}/h${caseNumber}` }] });

async function steps(developerId: string) {
  const { rows } = await db.pool.query<{ step: string; actor: string | null; snapshot: Record<string, unknown> }>(
    'SELECT step, actor, snapshot FROM handoff_steps WHERE developer_id = $1',
    [developerId],
  );
  return rows;
}

const postsFor = (channel: string, developerId: string) => slack.messages(channel).filter((m) => !m.thread_ts && m.text.includes(developerId));

describe.each(databaseBackends())('handoff to a person (time-skipping server, real Slack client against a local Slack, %s)', (backend) => {
  beforeAll(async () => {
    slack = await startFakeSlack({ token: TOKEN });
    // Every developer here is outside the holdout; no quiet hours, so sends are immediate. The
    // production worker (its activities and interceptors), on this test's task queue.
    sandbox = await startJourneySandbox({
      backend,
      taskQueue,
      rules: immediateRules(),
      policy: SHIPPED_POLICY,
      handoffs: { slack: new SlackGateway({ token: TOKEN, slackApiUrl: slack.slackApiUrl, retryConfig: { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 50 } }) },
    });
    ({ env, db } = sandbox);
  }, 120_000);

  afterAll(async () => {
    await sandbox?.close();
    await slack?.close();
  });

  it('escalates a stall once, posting the case with its context', async () => {
    const id = await developer();
    await db.pool.query(`INSERT INTO error_bursts (developer_id, kind, status, count, endpoint, occurred_at) VALUES ($1, 'unauthorized_burst', 401, 12, '/v1/charges', now())`, [
      id,
    ]);
    await start(id);
    await env.sleep(6 * DAY);
    expect(postsFor('#onboarding-help', id)).toEqual([]);
    await env.sleep(DAY + HOUR);
    const posts = await eventually(() => postsFor('#onboarding-help', id), { until: (p) => p.length > 0, describe: `the case of ${id} posted in #onboarding-help` });
    expect(posts).toHaveLength(1);
    const text = JSON.stringify(posts[0]!.blocks);
    expect(text).toContain('12 × 401 on /v1/charges');
    expect(text).toContain('no first api call 7 days after credential provisioned');
    expect(text).toContain('d***@example.com'); // masked by default
    expect(text).not.toContain(`${id}@example.com`);
    expect(text).toContain('listing_site');
    const { rows } = await db.pool.query('SELECT status, level, criterion FROM handoffs WHERE developer_id = $1', [id]);
    expect(rows).toEqual([{ status: 'open', level: 1, criterion: 'stall:no-first-call' }]);
    expect((await steps(id)).map((s) => s.step)).toEqual(['escalated']);
    expect((await steps(id))[0]!.snapshot).toMatchObject({ stage: 'credential_provisioned' });
    // Later decisions do not post it again.
    await env.sleep(HOUR);
    expect(postsFor('#onboarding-help', id)).toHaveLength(1);
  });

  it('takes claim, note, snooze, return and resolve, each logged, the message updated in place and threaded; no nudge while claimed', async () => {
    const id = await developer();
    await start(id);
    await signal(id, [{ id: `${id}-ticket`, type: 'support.ticket_created', occurredAt: iso(await env.currentTimeMs()) }]);
    await env.sleep('1 minute');
    const [post] = await eventually(() => postsFor('#onboarding-help', id), { until: (p) => p.length > 0, describe: `the case of ${id} posted in #onboarding-help` });
    expect(post).toBeDefined();

    expect(await act(id, { action: 'claim', actor: 'U0AGENT1' })).toMatchObject({ changed: true, case: { status: 'claimed', owner: 'U0AGENT1' } });
    expect(await act(id, { action: 'claim', actor: 'U0AGENT1' })).toMatchObject({ changed: false }); // a double click
    await act(id, { action: 'note', actor: 'U0AGENT1', note: 'asked for their curl command' });
    // first-call-help is due 24 h after the key: held back while the case is owned.
    await env.sleep(25 * HOUR);
    const { rows: held } = await db.pool.query('SELECT rule_id, outcome, reason FROM nudge_decisions WHERE developer_id = $1', [id]);
    expect(held).toEqual([{ rule_id: 'first-call-help', outcome: 'skipped', reason: 'human_owned' }]);
    expect((await db.pool.query('SELECT 1 FROM emails WHERE developer_id = $1', [id])).rowCount).toBe(0);

    await act(id, { action: 'snooze', actor: 'U0AGENT1', snoozeMs: HOUR });
    await env.sleep(HOUR + 60_000);
    await act(id, { action: 'return', actor: 'U0AGENT1' });
    await expect(act(id, { action: 'note', actor: 'U0AGENT1', note: 'too late' })).rejects.toMatchObject({ cause: { message: `case ${id}/h1 is closed` } });

    const log = await eventually(() => steps(id), { until: (s) => s.length >= 6, describe: `six handoff steps of ${id}` });
    expect(log.map((s) => [s.step, s.actor])).toEqual([
      ['escalated', null],
      ['claimed', 'U0AGENT1'],
      ['note', 'U0AGENT1'],
      ['snoozed', 'U0AGENT1'],
      ['snooze_ended', null],
      ['returned', 'U0AGENT1'],
    ]);
    const channel = slack.channelId('#onboarding-help')!;
    const replies = await eventually(() => slack.replies(channel, post!.ts), { until: (r) => r.length >= 5, describe: `five thread replies to the case of ${id}` });
    expect(replies.map((r) => r.text)).toEqual([
      'Claimed by <@U0AGENT1>',
      'Note from <@U0AGENT1>: asked for their curl command',
      expect.stringMatching(/^Snoozed 1 ?h by <@U0AGENT1>/),
      'Snooze ended: the case is open again',
      'Returned to automation by <@U0AGENT1>',
    ]);
    const updated = slack.messages(channel).find((m) => m.ts === post!.ts)!;
    expect(JSON.stringify(updated.blocks)).toContain('Returned to automation');
    expect(JSON.stringify(updated.blocks)).not.toContain('onramp.claim'); // no buttons on a closed case

    // Back to automation: the stall rules count from the return (fresh deadlines), not from the key.
    const sentRules = async () =>
      (await db.pool.query<{ rule_id: string }>(`SELECT rule_id FROM nudge_decisions WHERE developer_id = $1 AND outcome = 'sent' ORDER BY id`, [id])).rows.map((r) => r.rule_id);
    await env.sleep(23 * HOUR);
    expect(await sentRules()).toEqual([]);
    await env.sleep(2 * HOUR);
    expect(await eventually(sentRules, { until: (r) => r.length > 0, describe: `a nudge sent to ${id}` })).toEqual(['first-call-help']);
    await env.sleep(48 * HOUR);
    expect(await eventually(sentRules, { until: (r) => r.length > 1, describe: `two nudges sent to ${id}` })).toEqual(['first-call-help', 'first-call-second-nudge']);
  });

  it("refuses an action on someone else's case before it reaches the history, and takes a case over only when asked", async () => {
    const id = await developer();
    await start(id);
    await signal(id, [{ id: `${id}-ticket`, type: 'support.ticket_created', occurredAt: iso(await env.currentTimeMs()) }]);
    await env.sleep('1 minute');
    await eventually(() => postsFor('#onboarding-help', id), { until: (p) => p.length > 0, describe: `the case of ${id} posted in #onboarding-help` });
    await act(id, { action: 'claim', actor: 'U0AGENT1' });
    await act(id, { action: 'snooze', actor: 'U0AGENT1', snoozeMs: HOUR });
    const rejected = {
      cause: { type: 'HandoffActionRejected', details: ['owned', 'U0AGENT1'], message: `case ${id}/h1 is claimed by U0AGENT1: claim with takeOver to take it over` },
    };
    await expect(act(id, { action: 'claim', actor: 'U0AGENT2' })).rejects.toMatchObject(rejected);
    await expect(act(id, { action: 'resolve', actor: 'U0AGENT2', outcome: 'unblocked' })).rejects.toMatchObject({ cause: { details: ['owned', 'U0AGENT1'] } });
    // Refused by the validator: no Update in the history.
    const history = await env.client.workflow.getHandle(journeyWorkflowId(id)).fetchHistory();
    expect(history.events!.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toHaveLength(2);

    expect(await act(id, { action: 'claim', actor: 'U0AGENT2', takeOver: true })).toMatchObject({ case: { status: 'claimed', owner: 'U0AGENT2', snoozedUntil: null } });
    expect(await act(id, { action: 'note', actor: 'U0AGENT1', bypassOwner: 'policy', note: 'handing over: they use a live key' })).toMatchObject({ case: { owner: 'U0AGENT2' } });
    const log = await eventually(() => steps(id), { until: (s) => s.length >= 5, describe: `five handoff steps of ${id}` });
    expect(log.map((s) => [s.step, s.actor])).toEqual([
      ['escalated', null],
      ['claimed', 'U0AGENT1'],
      ['snoozed', 'U0AGENT1'],
      ['claimed', 'U0AGENT2'],
      ['note', 'U0AGENT1'],
    ]);
  });

  it('re-escalates an unclaimed case to the next level when the claim SLA passes, mentioning the group', async () => {
    const id = await developer();
    await start(id);
    await signal(id, [{ id: `${id}-ticket`, type: 'support.ticket_created', occurredAt: iso(await env.currentTimeMs()) }]);
    await env.sleep('1 minute');
    await eventually(() => postsFor('#onboarding-help', id), { until: (p) => p.length > 0, describe: `the case of ${id} posted in #onboarding-help` });
    await env.sleep(4 * HOUR);
    const level2 = await eventually(() => postsFor('#onboarding-escalations', id), {
      until: (p) => p.length > 0,
      describe: `the case of ${id} re-escalated to #onboarding-escalations`,
    });
    expect(level2).toHaveLength(1);
    expect(level2[0]!.text).toContain('<!subteam^S0ONBOARDING>');
    await act(id, { action: 'resolve', actor: 'U0AGENT2', outcome: 'unblocked' });
    const log = await eventually(() => steps(id), { until: (s) => s.length >= 4, describe: `four handoff steps of ${id}` });
    expect(log.map((s) => s.step)).toEqual(['escalated', 'sla_breached', 're_escalated', 'resolved']);
    const { rows } = await db.pool.query('SELECT status, outcome, level, sla_breached FROM handoffs WHERE developer_id = $1', [id]);
    expect(rows).toEqual([{ status: 'resolved', outcome: 'unblocked', level: 2, sla_breached: true }]);
  });

  it('posts exactly once when Slack answers 500s, then a rate limit with Retry-After, then recovers', async () => {
    const failed = async () => (await activityFailures.get()).values.find((v) => v.labels.activity === 'notifySlack')?.value ?? 0;
    const failedBefore = await failed();
    const id = await developer();
    // A Slack error fails the activity at once (Temporal retries it); 5xx and 429 are retried inside.
    slack.failNext('chat.postMessage', 1, { error: 'internal_error' });
    slack.failNext('chat.postMessage', 2, { status: 500 });
    slack.failNext('chat.postMessage', 1, { status: 429, retryAfter: 1 });
    await start(id);
    await signal(id, [{ id: `${id}-ticket`, type: 'support.ticket_created', occurredAt: iso(await env.currentTimeMs()) }]);
    await env.sleep('1 minute');
    await env.sleep('10 minutes');
    const posts = await eventually(() => postsFor('#onboarding-help', id), { until: (p) => p.length > 0, describe: `the case of ${id} posted in #onboarding-help` });
    await env.sleep('10 minutes');
    expect(postsFor('#onboarding-help', id)).toHaveLength(posts.length);
    expect(posts).toHaveLength(1);
    const { rows } = await db.pool.query(`SELECT status FROM slack_posts WHERE handoff_id = $1`, [`${id}/h1`]);
    expect(rows).toEqual([{ status: 'posted' }]);
    // The failed attempt was retried by Temporal, and counted for Prometheus.
    expect(await failed()).toBeGreaterThan(failedBefore);
  });

  it('gives up at once when Slack refuses the post for good (channel_not_found): one attempt, the log says so', async () => {
    const id = await developer();
    const attempts = () => slack.calls('chat.postMessage').filter((c) => JSON.stringify(c.params).includes(`${id}/`)).length;
    slack.failNext('chat.postMessage', 1, { error: 'channel_not_found' });
    await start(id);
    await signal(id, [{ id: `${id}-ticket`, type: 'support.ticket_created', occurredAt: iso(await env.currentTimeMs()) }]);
    await env.sleep('1 minute');
    const failed = await eventually(
      async () =>
        (await db.pool.query<{ step: string; detail: Record<string, unknown> }>(`SELECT step, detail FROM handoff_steps WHERE developer_id = $1 AND step = 'slack_failed'`, [id]))
          .rows,
      { describe: `a slack_failed step in ${id}'s case log`, until: (rows) => rows.length > 0 },
    );
    expect(failed).toEqual([{ step: 'slack_failed', detail: { error: 'Slack refused it for good (channel_not_found)', level: 1, channel: '#onboarding-help' } }]);
    // Not retried: an hour on (the retry policy's backoff would have tried a dozen times), still one attempt.
    await env.sleep('1 hour');
    expect(attempts()).toBe(1);
    const { rows: cases } = await db.pool.query<{ status: string }>('SELECT status FROM handoffs WHERE id = $1', [`${id}/h1`]);
    expect(cases).toEqual([{ status: 'open' }]);
  });

  // Last in the file: Slack fails every post from here on.
  it('gives up on Slack after a day of failures: the log says so, and the case stays open for the API', async () => {
    const id = await developer();
    slack.failNext('chat.postMessage', 100_000, { error: 'internal_error' });
    await start(id);
    await signal(id, [{ id: `${id}-ticket`, type: 'support.ticket_created', occurredAt: iso(await env.currentTimeMs()) }]);
    await env.sleep('1 minute');
    await env.sleep('25 hours');
    const read = async () =>
      (
        await db.pool.query<{ step_key: string; step: string; actor: string | null; detail: Record<string, unknown> }>(
          `SELECT step_key, step, actor, detail FROM handoff_steps WHERE developer_id = $1 AND step = 'slack_failed' ORDER BY step_key`,
          [id],
        )
      ).rows;
    // Time moves on while we wait: an attempt still running when the 25 hours ran out is retried
    // after a backoff timer, which the test server only skips while the test sleeps.
    const failedSteps = await eventually(
      async () => {
        await env.sleep('10 minutes');
        return read();
      },
      { describe: `a slack_failed step in ${id}'s case log`, until: (rows) => rows.length > 0 },
    );
    expect(failedSteps[0]).toEqual({
      step_key: `${id}/h1/1/slack_failed`,
      step: 'slack_failed',
      actor: null,
      detail: { error: expect.stringContaining('internal_error'), level: 1, channel: '#onboarding-help' },
    });
    expect(postsFor('#onboarding-help', id)).toHaveLength(0);
    const { rows: cases } = await db.pool.query<{ status: string }>('SELECT status FROM handoffs WHERE id = $1', [`${id}/h1`]);
    expect(cases).toEqual([{ status: 'open' }]);
  });
});
