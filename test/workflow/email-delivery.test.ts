import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import type { JourneyEvent } from '../../src/journey/journey-event.ts';
import { SlackGateway } from '../../src/slack/slack-gateway.ts';
import { eventually } from '../support/eventually.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { immediateRules, SHIPPED_POLICY, startJourneySandbox, type JourneySandbox } from '../support/journey-sandbox.ts';
import { databaseBackends } from '../support/test-databases.ts';

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

let sandbox: JourneySandbox;
let env: TestWorkflowEnvironment;
let db: Database;
let slack: FakeSlack;
let developers = 0;
const TOKEN = 'xoxb-test-token';

/**
 * Email that does not reach a developer (machine version 5): a hard bounce or a spam complaint,
 * stored and signalled by ingest (the email sources), makes the journey's engagement segment
 * `none`; the next due nudge is skipped (`no_email_engagement`) and escalates under the policy's
 * noEmailEngagement criterion, and nothing is sent.
 */
describe.each(databaseBackends())('email that does not reach them (time-skipping server, %s)', (backend) => {
  beforeAll(async () => {
    // No segment filters: a nudge due for a developer of engagement `none` meets the engagement check itself.
    const rules = immediateRules((doc) => {
      for (const rule of doc.rules) delete rule.segments;
    });
    slack = await startFakeSlack({ token: TOKEN });
    sandbox = await startJourneySandbox({
      backend,
      taskQueue: 'email-delivery-test',
      rules,
      policy: SHIPPED_POLICY,
      handoffs: { slack: new SlackGateway({ token: TOKEN, slackApiUrl: slack.slackApiUrl, retryConfig: { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 50 } }) },
    });
    ({ env, db } = sandbox);
  }, 120_000);
  afterAll(async () => {
    await sandbox?.close();
    await slack?.close();
  });

  /** A developer with a key now (workflow time): first-call-help falls due 24 h later. */
  async function developerWithKey(): Promise<{ id: string; now: number }> {
    const id = `dev_bounce_${developers++}`;
    await db.pool.query(`INSERT INTO developers (id, email, account_type, acquisition_channel) VALUES ($1, $2, 'individual', 'direct')`, [id, `${id}@example.com`]);
    const now = await env.currentTimeMs();
    await sandbox.signal(id, [
      { id: `${id}-signup`, type: 'developer.signed_up', occurredAt: iso(now - HOUR), properties: { accountType: 'individual', acquisitionChannel: 'direct' } },
      { id: `${id}-key`, type: 'api_key.created', occurredAt: iso(now), properties: { mode: 'test' } },
    ]);
    return { id, now };
  }

  /** What ingest does with a provider's report: the event stored, its signal sent to the journey. */
  async function report(developerId: string, event: JourneyEvent & { type: 'email.bounced' | 'email.complained' }) {
    await db.pool.query(`INSERT INTO events (id, type, developer_id, occurred_at, properties) VALUES ($1, $2, $3, $4, $5)`, [
      event.id,
      event.type,
      developerId,
      event.occurredAt,
      JSON.stringify({ provider: 'ses', ...event.properties }),
    ]);
    await sandbox.signal(developerId, [event]);
  }

  const decisions = async (id: string) =>
    (await db.pool.query(`SELECT rule_id, outcome, reason, segment->>'engagement' AS engagement FROM nudge_decisions WHERE developer_id = $1 ORDER BY id`, [id])).rows;
  const cases = async (id: string) => (await db.pool.query(`SELECT criterion, view->>'reason' AS reason, status FROM handoffs WHERE developer_id = $1`, [id])).rows;

  it('skips the due nudge after a hard bounce and escalates with criterion no_email_engagement', async () => {
    const { id, now } = await developerWithKey();
    await report(id, { id: `ses:${id}:0`, type: 'email.bounced', occurredAt: iso(now + HOUR), properties: { bounceType: 'hard' } });
    await env.sleep(25 * HOUR);
    const skipped = await eventually(() => decisions(id), { until: (rows) => rows.length > 0, describe: `the decision on ${id}'s first nudge` });
    expect(skipped).toEqual([{ rule_id: 'first-call-help', outcome: 'skipped', reason: 'no_email_engagement', engagement: 'none' }]);
    const opened = await eventually(() => cases(id), { until: (rows) => rows.length > 0, describe: `${id}'s case` });
    expect(opened).toEqual([{ criterion: 'no_email_engagement', reason: `email does not reach them: hard bounce on ${iso(now + HOUR).slice(0, 10)}`, status: 'open' }]);
    expect((await db.pool.query('SELECT id FROM emails WHERE developer_id = $1', [id])).rows).toEqual([]);
    // The agent's case context says so beside the nudges (src/cases).
    const [post] = await eventually(() => slack.messages('#onboarding-help').filter((m) => !m.thread_ts && m.text.includes(id)), {
      until: (posts) => posts.length > 0,
      describe: `the case of ${id} posted`,
    });
    expect(JSON.stringify(post!.blocks)).toContain(`:no_entry: email does not reach them: hard bounce on ${iso(now + HOUR).slice(0, 10)}`);
  });

  it('does the same after a spam complaint, and sends as before to a developer whose email only bounced softly', async () => {
    const complained = await developerWithKey();
    await report(complained.id, { id: `ses:${complained.id}:0`, type: 'email.complained', occurredAt: iso(complained.now + HOUR) });
    // A soft bounce never reaches a journey (ingest keeps it from the signals); were it heard, it is no suppression.
    const soft = await developerWithKey();
    await report(soft.id, { id: `ses:${soft.id}:0`, type: 'email.bounced', occurredAt: iso(soft.now + HOUR), properties: { bounceType: 'soft' } });
    await env.sleep(25 * HOUR);
    const complaint = await eventually(() => cases(complained.id), { until: (rows) => rows.length > 0, describe: `${complained.id}'s case` });
    expect(complaint).toEqual([{ criterion: 'no_email_engagement', reason: expect.stringMatching(/^email does not reach them: spam complaint on /), status: 'open' }]);
    expect(await decisions(complained.id)).toEqual([{ rule_id: 'first-call-help', outcome: 'skipped', reason: 'no_email_engagement', engagement: 'none' }]);
    const sent = await eventually(() => decisions(soft.id), { until: (rows) => rows.length > 0, describe: `${soft.id}'s nudge` });
    expect(sent).toEqual([{ rule_id: 'first-call-help', outcome: 'sent', reason: null, engagement: 'new' }]);
    expect(await cases(soft.id)).toEqual([]);
  });
});
