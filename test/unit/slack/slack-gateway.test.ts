import { LogLevel, WebAPIRateLimitedError, WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CaseContext, CaseView } from '../../../src/cases/case-context.ts';
import { buildCaseMessage, type CaseMessage } from '../../../src/slack/case-message.ts';
import {
  CASE_EVENT_TYPE,
  permanentSlackErrorCode,
  SlackGateway,
  slackErrorCode,
  slackLogger,
  STEP_EVENT_TYPE,
  type SlackGatewayOptions,
} from '../../../src/slack/slack-gateway.ts';
import { caseViewFixture } from '../../support/case-view.ts';
import { startFakeSlack, type FakeSlack } from '../../support/fake-slack.ts';

const token = 'xoxb-test-token';
const quick = { retries: 3, factor: 2, minTimeout: 10, maxTimeout: 40 };

const view = caseViewFixture({ outcomes: ['unblocked', 'not-a-fit'] });
const context: CaseContext = {
  developer: { id: 'dev_1', email: 'j***@example.com', accountType: 'individual', orgId: null, channel: 'organic', timezone: 'UTC' },
  stage: { id: 'credential_provisioned', label: 'Credential provisioned' },
  stageReachedAt: '2026-10-26T12:00:00.000Z',
  stuckForSeconds: 7 * 86_400,
  timeline: [],
  nudges: [],
  engagement: { opened: 0, clicked: 0, segment: 'new' },
  diagnosis: [],
  journeyUrl: 'http://onramp.test/v1/developers/dev_1/journey',
  dashboardUrl: 'http://onramp.test/dashboard?developer=dev_1',
  inboxUrl: 'http://onramp.test/dashboard/handoffs',
};
const message = (over: Partial<CaseView> = {}): CaseMessage => buildCaseMessage({ view: { ...view, ...over }, context, outcomes: view.outcomes });

describe('SlackGateway against a local Slack', () => {
  let slack: FakeSlack;
  const gateway = (options: Partial<SlackGatewayOptions> = {}) =>
    new SlackGateway({ token, slackApiUrl: slack.slackApiUrl, retryConfig: quick, logLevel: LogLevel.ERROR, ...options });

  beforeEach(async () => {
    slack = await startFakeSlack({ token, channels: ['general', 'onboarding-help'] });
  });
  afterEach(async () => {
    await slack.close();
  });

  it('posts a case tagged with its post key, answers the channel id, finds it again and updates it in place', async () => {
    const g = gateway();
    const posted = await g.postCase('#onboarding-help', message(), 'dev_1/h1#1');
    expect(posted.channel).toBe(slack.channelId('onboarding-help'));
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);

    const [stored] = slack.messages('#onboarding-help');
    expect(stored).toMatchObject({ ts: posted.ts, metadata: { event_type: CASE_EVENT_TYPE, event_payload: { post_key: 'dev_1/h1#1' } } });
    expect(stored!.text).toContain('Onramp handoff');
    expect(stored!.blocks).toEqual(message().blocks);

    // A fresh gateway (after a crash) knows only the channel name.
    expect(await gateway().findPosted('#onboarding-help', 'dev_1/h1#1')).toEqual(posted);
    expect(await gateway().findPosted('#onboarding-help', 'dev_1/h1#2')).toBeUndefined();
    expect(await gateway().findPosted('#no-such-channel', 'dev_1/h1#1')).toBeUndefined();
    expect(slack.calls('conversations.history').at(-1)!.params).toMatchObject({ include_all_metadata: 'true', channel: posted.channel });

    await g.updateCase(posted.channel, posted.ts, message({ status: 'claimed', owner: 'U0AGENT1' }));
    const [updated] = slack.messages(posted.channel);
    expect(JSON.stringify(updated!.blocks)).toContain('Claimed* by <@U0AGENT1>');
    expect(updated!.metadata).toEqual(stored!.metadata);
    expect(slack.messages(posted.channel)).toHaveLength(1);
  });

  it('postCaseOnce does not post twice for one key (a crash between the post and our bookkeeping)', async () => {
    const first = await gateway().postCaseOnce('#onboarding-help', message(), 'k1');
    const second = await gateway().postCaseOnce('#onboarding-help', message(), 'k1');
    expect(second).toEqual(first);
    expect(slack.messages('onboarding-help')).toHaveLength(1);
    expect(slack.calls('chat.postMessage')).toHaveLength(1);
  });

  it('searches a bounded number of history pages, newest first', async () => {
    const g = gateway({ historyPages: 2 });
    await g.postCase('#onboarding-help', message(), 'old');
    const other = { text: 'chatter', blocks: [] };
    for (let i = 0; i < 150; i++) await g.postCase('#onboarding-help', other, `chatter-${i}`);
    expect(await g.findPosted('#onboarding-help', 'old')).toBeDefined(); // on page 2
    for (let i = 0; i < 100; i++) await g.postCase('#onboarding-help', other, `more-${i}`);
    expect(await g.findPosted('#onboarding-help', 'old')).toBeUndefined(); // page 3: beyond the bound
    expect(await g.findPosted('#onboarding-help', 'more-99')).toBeDefined();
  });

  it('HTTP 500 twice, then ok: exactly one message', async () => {
    slack.failNext('chat.postMessage', 2, { status: 500 });
    const posted = await gateway().postCase('#onboarding-help', message(), 'k500');
    expect(slack.messages('onboarding-help')).toEqual([expect.objectContaining({ ts: posted.ts })]);
    expect(slack.calls('chat.postMessage').map((c) => c.status)).toEqual([500, 500, 200]);
  });

  it('a 500 after Slack stored the post: the retry finds it instead of posting again', async () => {
    slack.failNext('chat.postMessage', 1, { status: 500, afterApply: true });
    const posted = await gateway().postCase('#onboarding-help', message(), 'lost-answer');
    expect(slack.messages('onboarding-help')).toHaveLength(1);
    expect(slack.messages('onboarding-help')[0]!.ts).toBe(posted.ts);
    expect(slack.calls('chat.postMessage')).toHaveLength(1);

    // The same for a thread reply.
    slack.failNext('chat.postMessage', 1, { status: 502, afterApply: true });
    await gateway().reply(posted.channel, posted.ts, 'Claimed by <@U0AGENT1>', 'lost-answer/2');
    expect(slack.replies(posted.channel, posted.ts)).toHaveLength(1);
  });

  it('gives up after the configured retries on 5xx', async () => {
    slack.failNext('chat.postMessage', 10, { status: 503 });
    await expect(gateway({ retryConfig: { ...quick, retries: 2 } }).postCase('#onboarding-help', message(), 'k503')).rejects.toMatchObject({
      code: 'slack_webapi_http_error',
      statusCode: 503,
    });
    expect(slack.calls('chat.postMessage')).toHaveLength(3);
    expect(slack.messages('onboarding-help')).toHaveLength(0);
  });

  it('429 with Retry-After: the client waits, then posts once', async () => {
    slack.failNext('chat.postMessage', 1, { status: 429, retryAfter: 1 });
    const started = Date.now();
    await gateway().postCase('#onboarding-help', message(), 'k429');
    const [limited, ok] = slack.calls('chat.postMessage');
    expect(limited!.status).toBe(429);
    expect(ok!.at - limited!.at).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(slack.messages('onboarding-help')).toHaveLength(1);
    // The client retried by itself: a 429 is not an ambiguous failure, so no history search.
    expect(slack.calls('chat.postMessage')).toHaveLength(2);
    expect(slack.calls('conversations.history')).toHaveLength(0);
    expect(slack.calls('conversations.list')).toHaveLength(0);
  });

  it('with rejectRateLimitedCalls the client throws WebAPIRateLimitedError at once instead', async () => {
    // Waiting the 30 s would outlast the unit tests' 20 s timeout: the error comes first.
    slack.failNext('chat.postMessage', 1, { status: 429, retryAfter: 30 });
    const error: unknown = await gateway({ rejectRateLimitedCalls: true })
      .postCase('#onboarding-help', message(), 'k429r')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebAPIRateLimitedError);
    expect((error as WebAPIRateLimitedError).retryAfter).toBe(30);
    expect(slack.calls('chat.postMessage')).toHaveLength(1);
  });

  it('Slack errors are not retried, and tell permanent from passing trouble', async () => {
    slack.failNext('chat.update', 1, { error: 'channel_not_found' });
    const error: unknown = await gateway()
      .updateCase('C0FAKE0002', '1.000001', message())
      .catch((e: unknown) => e);
    expect(slackErrorCode(error)).toBe('channel_not_found');
    expect(permanentSlackErrorCode(error)).toBe('channel_not_found');
    expect(slack.calls('chat.update')).toHaveLength(1);
    expect(permanentSlackErrorCode(new Error('socket hang up'))).toBeUndefined();

    const auth: unknown = await new SlackGateway({ token: 'xoxb-wrong', slackApiUrl: slack.slackApiUrl, retryConfig: quick, logLevel: LogLevel.ERROR })
      .postCase('#general', message(), 'k')
      .catch((e: unknown) => e);
    expect(slackErrorCode(auth)).toBe('invalid_auth');
  });

  it('thread replies carry their key; replyOnce finds an earlier one', async () => {
    const g = gateway();
    const parent = await g.postCase('#onboarding-help', message(), 'p');
    const reply = await g.reply('#onboarding-help', parent.ts, 'Claimed by <@U0AGENT1>', 'dev_1/h1/2');
    expect(await gateway().findReply('#onboarding-help', parent.ts, 'dev_1/h1/2')).toEqual(reply);
    expect(await gateway().replyOnce('#onboarding-help', parent.ts, 'Claimed by <@U0AGENT1>', 'dev_1/h1/2')).toEqual(reply);
    await gateway().replyOnce('#onboarding-help', parent.ts, 'Note from <@U0AGENT1>: hi', 'dev_1/h1/3');
    const replies = slack.replies('onboarding-help', parent.ts);
    expect(replies.map((r) => r.text)).toEqual(['Claimed by <@U0AGENT1>', 'Note from <@U0AGENT1>: hi']);
    expect(replies[0]).toMatchObject({ thread_ts: parent.ts, metadata: { event_type: STEP_EVENT_TYPE, event_payload: { post_key: 'dev_1/h1/2' } } });
    expect(slack.messages('onboarding-help')[0]).toMatchObject({ reply_count: 2 });
    // Replies stay out of the channel's history.
    expect(await g.findPosted('#onboarding-help', 'p')).toEqual(parent);
  });

  it('ephemeral messages and the note modal', async () => {
    const g = gateway();
    await g.ephemeral('#onboarding-help', 'U0STRANGER', 'Only onboarding agents can act on cases.');
    expect(slack.ephemerals()).toEqual([
      expect.objectContaining({ channel: slack.channelId('onboarding-help'), user: 'U0STRANGER', text: 'Only onboarding agents can act on cases.' }),
    ]);

    await g.openNoteModal('123.456.abc', 'dev_1/h1', { channel: 'C0FAKE0002', messageTs: '1.2' });
    const [opened] = slack.views();
    expect(opened).toMatchObject({ trigger_id: '123.456.abc', view: { type: 'modal', callback_id: 'onramp.note' } });
    expect(JSON.parse(opened!.view.private_metadata as string)).toEqual({ caseId: 'dev_1/h1', channel: 'C0FAKE0002', messageTs: '1.2' });
  });

  it('user-group membership, cached for a minute', async () => {
    let now = 1_000_000;
    const g = gateway({ clock: () => now });
    slack.setUsergroup('S0AGENTS', ['U0AGENT1', 'U0AGENT2']);
    slack.setUsergroup('S0LEADS', ['U0LEAD']);
    expect(await g.isMemberOfAny('U0LEAD', ['S0AGENTS', 'S0LEADS'])).toBe(true);
    expect(await g.isMemberOfAny('U0AGENT2', ['S0AGENTS'])).toBe(true);
    expect(await g.isMemberOfAny('U0STRANGER', ['S0AGENTS', 'S0LEADS'])).toBe(false);
    expect(await g.isMemberOfAny('U0AGENT1', [])).toBe(false);
    expect(slack.calls('usergroups.users.list')).toHaveLength(2);

    slack.setUsergroup('S0AGENTS', ['U0AGENT1', 'U0NEW']);
    now += 59_000;
    expect(await g.isMemberOfAny('U0NEW', ['S0AGENTS'])).toBe(false); // cached
    now += 2_000;
    expect(await g.isMemberOfAny('U0NEW', ['S0AGENTS'])).toBe(true);
    expect(slack.calls('usergroups.users.list')).toHaveLength(3);

    const error: unknown = await g.isMemberOfAny('U0NEW', ['S0GONE']).catch((e: unknown) => e);
    expect(slackErrorCode(error)).toBe('no_such_subteam');
  });

  it('the fake rejects what Slack would: blocks over the limits, names where ids are needed', async () => {
    const silent = slackLogger({ debug: () => {}, info: () => {}, warn: () => {}, error: () => {} });
    const client = new WebClient(token, { slackApiUrl: slack.slackApiUrl, retryConfig: { retries: 0 }, logger: silent });
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    await expect(client.chat.postMessage({ channel: '#general', text: 'x', blocks: tooMany })).rejects.toMatchObject({ data: { error: 'invalid_blocks' } });
    await expect(
      client.chat.postMessage({ channel: '#general', text: 'x', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'y'.repeat(3001) } }] }),
    ).rejects.toMatchObject({ data: { error: 'invalid_blocks' } });
    await expect(client.conversations.history({ channel: '#general' })).rejects.toMatchObject({ data: { error: 'channel_not_found' } });
    await expect(client.chat.postMessage({ channel: '#general', text: 'x', thread_ts: '1.000001' })).rejects.toMatchObject({ data: { error: 'thread_not_found' } });
    const json = await fetch(`${slack.slackApiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${token}` },
      body: JSON.stringify({ channel: 'general', text: 'json body' }),
    });
    expect(await json.json()).toMatchObject({ ok: true, channel: slack.channelId('general'), message: { text: 'json body' } });
  });
});
