import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { LogLevel } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { SlackGateway } from '../../src/slack/slack-gateway.ts';
import { startFakeSlack, type FakeSlack, type FakeSlackFailure } from '../support/fake-slack.ts';
import { eventually } from '../support/eventually.ts';
import { immediateRules, SHIPPED_POLICY, startJourneySandbox, type JourneySandbox } from '../support/journey-sandbox.ts';
import { databaseBackends } from '../support/test-databases.ts';

/**
 * Chaos: the Slack API failing for a while — connections refused, requests never answered (a
 * timeout) before or after Slack stored the post, 5xx after storing it — then recovering. The
 * escalation is posted exactly once: the activity is retried by Temporal, and after an answer
 * that may have come after the post was stored, the gateway finds the post by its key instead of
 * posting again.
 */

const HOUR = 3_600_000;
const MINUTE = 60_000;
const taskQueue = 'slack-chaos';
const TOKEN = 'xoxb-chaos-token';

let sandbox: JourneySandbox;
let env: TestWorkflowEnvironment;
let db: Database;
let slack: FakeSlack;

beforeAll(async () => {
  slack = await startFakeSlack({ token: TOKEN });
});

afterAll(async () => {
  await slack?.close();
});

let developers = 0;
/** A developer who opens a support ticket now: the policy escalates it at once. */
async function escalate(): Promise<string> {
  const id = `dev_slack_${developers++}`;
  await db.pool.query(`INSERT INTO developers (id, email, account_type, acquisition_channel, timezone) VALUES ($1, $2, 'individual', 'paid', 'UTC')`, [id, `${id}@example.com`]);
  const now = await env.currentTimeMs();
  const iso = (ms: number) => new Date(ms).toISOString();
  await sandbox.signal(id, [
    { id: `${id}-signup`, type: 'developer.signed_up', occurredAt: iso(now - HOUR), properties: { accountType: 'individual', acquisitionChannel: 'paid', timezone: 'UTC' } },
    { id: `${id}-ticket`, type: 'support.ticket_created', occurredAt: iso(now), properties: {} },
  ]);
  return id;
}

const posts = (id: string) => slack.messages('#onboarding-help').filter((m) => !m.thread_ts && m.text.includes(id));
const postRows = async (id: string) => (await db.pool.query<{ status: string }>('SELECT status FROM slack_posts WHERE handoff_id = $1', [`${id}/h1`])).rows;

const scenarios: { name: string; fault: (slack: FakeSlack) => Promise<number>; recover?: (slack: FakeSlack) => Promise<void> }[] = [
  {
    name: 'refused for 30 minutes',
    fault: async (s) => (await s.offline(), 1),
    recover: (s) => s.online(),
  },
  ...(
    [
      ['unanswered (timeouts), 4 times', { hang: true }, 4],
      ['stored, then unanswered (a timeout after the post)', { hang: true, afterApply: true }, 1],
      ['stored, then answered 502, twice', { status: 502, afterApply: true }, 2],
    ] as const
  ).map(([name, failure, count]) => ({
    name,
    fault: async (s: FakeSlack) => {
      s.failNext('chat.postMessage', count, failure as FakeSlackFailure);
      return count;
    },
  })),
];

describe.each(databaseBackends())('chaos: the Slack API fails for a while, then recovers (%s)', (backend) => {
  beforeAll(async () => {
    sandbox = await startJourneySandbox({
      backend,
      taskQueue,
      rules: immediateRules(),
      policy: SHIPPED_POLICY,
      // A short request timeout, so an unanswered request fails an attempt in half a second.
      handoffs: {
        slack: new SlackGateway({
          token: TOKEN,
          slackApiUrl: slack.slackApiUrl,
          timeoutMs: 500,
          logLevel: LogLevel.ERROR,
          retryConfig: { retries: 1, factor: 1, minTimeout: 10, maxTimeout: 50 },
        }),
      },
    });
    ({ env, db } = sandbox);
  }, 120_000);

  afterAll(async () => {
    await sandbox?.close();
  });

  const outcome: string[] = [];
  afterAll(() => console.log(`chaos/slack: ${outcome.join('; ')}`));

  for (const scenario of scenarios) {
    it(`${scenario.name}: the case is posted exactly once`, async () => {
      const faults = await scenario.fault(slack);
      const id = await escalate();
      await env.sleep(30 * MINUTE);
      if (scenario.recover) {
        expect(posts(id)).toHaveLength(0);
        await scenario.recover(slack);
      }
      await env.sleep(15 * MINUTE); // the activity's backoff reaches at most 10 minutes
      await eventually(async () => ({ posts: posts(id).length, rows: await postRows(id) }), {
        until: (seen) => seen.posts > 0 && seen.rows.some((r) => r.status === 'posted'),
        describe: `the case of ${id} posted and recorded as posted`,
      });
      await env.sleep(2 * HOUR);
      expect(posts(id)).toHaveLength(1);
      expect(await postRows(id)).toEqual([{ status: 'posted' }]);
      outcome.push(`${scenario.name}: faults ${faults}, posted 1, lost 0, duplicated 0`);
    });
  }
});
