import { ErrorCode, LogLevel, WebClient, type ChatPostMessageArguments, type Logger, type RetryOptions, type WebClientOptions } from '@slack/web-api';
import { buildNoteModal, buildResolveModal, type CaseMessage, type ResolveModalInput } from './case-message.ts';
import type { ModalOrigin } from './slack-interaction.ts';

/**
 * The few Slack Web API calls the handoff (and the alerts) make, over the real `WebClient`.
 *
 * Retries and rate limits (verified against @slack/web-api 8.2 and test/support/fake-slack.ts):
 * - The client retries with `retryConfig` (p-retry/node-retry options) on HTTP errors (any status
 *   but 200 and 429) and network errors/timeouts. Slack errors (`{ ok: false, error }`, HTTP 200)
 *   are never retried: they throw `WebAPIPlatformError` at once.
 * - HTTP 429 with `Retry-After`: with `rejectRateLimitedCalls: false` (our default) the client
 *   pauses its whole request queue for Retry-After seconds, then retries (the retry counts against
 *   `retryConfig.retries`, and the retry backoff comes on top of the wait; with `retries: 0` it
 *   waits and then fails with a WebAPIRequestError "A rate limit was exceeded"). With `true` it
 *   throws `WebAPIRateLimitedError` (`retryAfter` in seconds) at once and never retries. A 429
 *   without a usable Retry-After is never retried. We wait: Slack asks for a few seconds at most
 *   for these methods, and a Temporal retry would ignore Retry-After. The activity's
 *   start-to-close timeout must leave room for such a wait.
 * - The library's default policy is ten retries over about 30 minutes; ours is a few quick ones,
 *   and the Temporal activity retries on top.
 *
 * Posting is not idempotent: a 5xx or a timeout may come after Slack stored the message. So
 * `chat.postMessage` goes through a client that retries only rate limits; after any other failure
 * the gateway looks for the message by its post key (message metadata) before posting again.
 * `postCaseOnce` / `replyOnce` also look first, which covers a crash between the post and our
 * bookkeeping.
 */

export interface SlackGatewayOptions {
  /** Bot token (xoxb-…). Scopes: chat:write, channels:history (groups:history for private
   * channels), channels:read (groups:read) to look `#name`s up, usergroups:read. */
  token: string;
  /** Defaults to https://slack.com/api/; tests point it at a local server. */
  slackApiUrl?: string;
  retryConfig?: RetryOptions;
  /** See above; default false (wait for Retry-After, then retry). */
  rejectRateLimitedCalls?: boolean;
  /** Per request, milliseconds; default 10 s. */
  timeoutMs?: number;
  logger?: Logger;
  /** For the client's own logger when no `logger` is given; default warn. */
  logLevel?: LogLevel;
  /** Pages of recent history searched for a post key; default 3 (of 100 messages, or 200 replies). */
  historyPages?: number;
  /** How long a user group's members are cached; default 60 s. */
  membershipTtlMs?: number;
  /** For the membership cache; default Date.now. */
  clock?: () => number;
}

export interface PostedMessage {
  /** The channel id, as Slack returns it (also when posted to a `#name`). */
  channel: string;
  ts: string;
}

/** Message metadata event types: a case post, and a thread reply for a step. */
export const CASE_EVENT_TYPE = 'onramp_case';
export const STEP_EVENT_TYPE = 'onramp_case_step';
/** An alert's message (src/alerts). */
export const ALERT_EVENT_TYPE = 'onramp_alert';

/** A few quick retries: 0.2 s, 0.4 s, 0.8 s (±randomised). */
export const DEFAULT_SLACK_RETRY: RetryOptions = { retries: 3, factor: 2, minTimeout: 200, maxTimeout: 2_000, randomize: true };

const CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;
const HISTORY_LIMIT = 100;
const REPLIES_LIMIT = 200;
const LIST_PAGES = 20;

interface MetadataCarrier {
  ts?: string;
  metadata?: { event_type?: string; event_payload?: unknown };
}

function carriesKey(message: MetadataCarrier, eventType: string, postKey: string): message is MetadataCarrier & { ts: string } {
  const payload = message.metadata?.event_payload as { post_key?: unknown } | undefined;
  return typeof message.ts === 'string' && message.metadata?.event_type === eventType && payload?.post_key === postKey;
}

/** The `error` of a Slack API answer (`channel_not_found` …), if the error is one. */
export function slackErrorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === ErrorCode.PlatformError) {
    const data = (error as { data?: { error?: unknown } }).data;
    return typeof data?.error === 'string' ? data.error : undefined;
  }
  return undefined;
}

const PERMANENT = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'missing_scope',
  'no_permission',
  'restricted_action',
  'msg_too_long',
  'invalid_blocks',
  'invalid_blocks_format',
  'invalid_metadata_format',
  'invalid_metadata_schema',
  'metadata_too_large',
  'message_not_found',
  'cant_update_message',
  'thread_not_found',
  'user_not_in_channel',
  'no_such_subteam',
]);

/** The error code when Slack said no for good (bad channel, token or payload): retrying will not help. */
export function permanentSlackErrorCode(error: unknown): string | undefined {
  const code = slackErrorCode(error);
  return code !== undefined && PERMANENT.has(code) ? code : undefined;
}

/**
 * The client's "retry me" after waiting out a 429: it throws `Error('A rate limit was exceeded …')`
 * inside its request wrapper, which re-wraps it as a WebAPIRequestError; the message is the only
 * tell (covered by the 429 test in test/unit/slack/slack-gateway.test.ts).
 */
function isRateLimitRetry(error: unknown): boolean {
  const e = error as { code?: unknown; original?: { message?: unknown } } | null;
  return e?.code === ErrorCode.RequestError && typeof e.original?.message === 'string' && e.original.message.startsWith('A rate limit was exceeded');
}

/** An HTTP error (not 429) or a network error/timeout: the request may or may not have been carried out. */
function isAmbiguous(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (code === ErrorCode.HTTPError || code === ErrorCode.RequestError) && !isRateLimitRetry(error);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Adapts a pino-style logger (debug/info/warn/error) to the client's Logger interface. */
export function slackLogger(target: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>, level: LogLevel = LogLevel.WARN): Logger {
  const order = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR];
  let current = level;
  let name = 'slack';
  const at =
    (l: LogLevel, fn: (...msg: unknown[]) => void) =>
    (...msg: unknown[]) => {
      if (order.indexOf(l) >= order.indexOf(current)) fn(`${name}: ${msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ')}`);
    };
  return {
    debug: at(LogLevel.DEBUG, (m) => target.debug(m)),
    info: at(LogLevel.INFO, (m) => target.info(m)),
    warn: at(LogLevel.WARN, (m) => target.warn(m)),
    error: at(LogLevel.ERROR, (m) => target.error(m)),
    setLevel: (l) => {
      current = l;
    },
    getLevel: () => current,
    setName: (n) => {
      name = n;
    },
  };
}

export class SlackGateway {
  /** The client for every call but posting (retries per `retryConfig`). */
  readonly client: WebClient;
  /** For chat.postMessage: retries rate limits only (see above). */
  private readonly postClient: WebClient;
  private readonly retry: Required<Pick<RetryOptions, 'retries' | 'factor' | 'minTimeout' | 'maxTimeout'>>;
  private readonly historyPages: number;
  private readonly membershipTtlMs: number;
  private readonly clock: () => number;
  private readonly channelIds = new Map<string, string>();
  private readonly members = new Map<string, { at: number; users: Promise<Set<string>> }>();

  constructor(options: SlackGatewayOptions) {
    const retryConfig = options.retryConfig ?? DEFAULT_SLACK_RETRY;
    const common: WebClientOptions = {
      ...(options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {}),
      rejectRateLimitedCalls: options.rejectRateLimitedCalls ?? false,
      timeout: options.timeoutMs ?? 10_000,
      ...(options.logger ? { logger: options.logger } : { logLevel: options.logLevel ?? LogLevel.WARN }),
    };
    this.client = new WebClient(options.token, { ...common, retryConfig });
    this.postClient = new WebClient(options.token, {
      ...common,
      retryConfig: {
        ...retryConfig,
        // p-retry calls this before each retry; throwing ends the retries with that error.
        onFailedAttempt: (error: unknown) => {
          if (isAmbiguous(error)) throw error;
        },
      } as RetryOptions,
    });
    this.retry = {
      retries: retryConfig.retries ?? 3,
      factor: retryConfig.factor ?? 2,
      minTimeout: retryConfig.minTimeout ?? 200,
      maxTimeout: retryConfig.maxTimeout ?? 2_000,
    };
    this.historyPages = options.historyPages ?? 3;
    this.membershipTtlMs = options.membershipTtlMs ?? 60_000;
    this.clock = options.clock ?? Date.now;
  }

  /** Posts a case message tagged with its post key (message metadata). */
  async postCase(channel: string, message: CaseMessage, postKey: string): Promise<PostedMessage> {
    return this.post(
      {
        channel,
        text: message.text,
        blocks: message.blocks,
        unfurl_links: false,
        unfurl_media: false,
        metadata: { event_type: CASE_EVENT_TYPE, event_payload: { post_key: postKey } },
      },
      () => this.findPosted(channel, postKey),
    );
  }

  /** Finds the case message with this post key, else posts it. */
  async postCaseOnce(channel: string, message: CaseMessage, postKey: string): Promise<PostedMessage> {
    return (await this.findPosted(channel, postKey)) ?? (await this.postCase(channel, message, postKey));
  }

  /** A case message posted with this key among the channel's recent messages (newest first, bounded pages). */
  async findPosted(channel: string, postKey: string): Promise<PostedMessage | undefined> {
    return this.findInHistory(channel, CASE_EVENT_TYPE, postKey);
  }

  /** Finds the alert message with this post key among the channel's recent messages (a crash after posting), else posts it. */
  async postAlertOnce(channel: string, text: string, postKey: string): Promise<PostedMessage> {
    const find = () => this.findInHistory(channel, ALERT_EVENT_TYPE, postKey);
    return (
      (await find()) ??
      (await this.post({ channel, text, unfurl_links: false, unfurl_media: false, metadata: { event_type: ALERT_EVENT_TYPE, event_payload: { post_key: postKey } } }, find))
    );
  }

  private findInHistory(channel: string, eventType: string, postKey: string): Promise<PostedMessage | undefined> {
    return this.findKeyed(channel, eventType, postKey, (id, cursor) =>
      this.client.conversations.history({ channel: id, include_all_metadata: true, limit: HISTORY_LIMIT, ...(cursor ? { cursor } : {}) }),
    );
  }

  /** Replaces the case message's text and blocks (its metadata stays). */
  async updateCase(channel: string, ts: string, message: CaseMessage): Promise<void> {
    const id = (await this.channelId(channel)) ?? channel;
    await this.client.chat.update({ channel: id, ts, text: message.text, blocks: message.blocks });
  }

  /** Posts a thread reply tagged with its post key. */
  async reply(channel: string, threadTs: string, text: string, postKey: string): Promise<PostedMessage> {
    return this.post(
      { channel, text, thread_ts: threadTs, unfurl_links: false, unfurl_media: false, metadata: { event_type: STEP_EVENT_TYPE, event_payload: { post_key: postKey } } },
      () => this.findReply(channel, threadTs, postKey),
    );
  }

  /** Finds the thread reply with this post key, else posts it. */
  async replyOnce(channel: string, threadTs: string, text: string, postKey: string): Promise<PostedMessage> {
    return (await this.findReply(channel, threadTs, postKey)) ?? (await this.reply(channel, threadTs, text, postKey));
  }

  /** A thread reply posted with this key (conversations.replies, bounded pages). */
  async findReply(channel: string, threadTs: string, postKey: string): Promise<PostedMessage | undefined> {
    return this.findKeyed(channel, STEP_EVENT_TYPE, postKey, (id, cursor) =>
      this.client.conversations.replies({ channel: id, ts: threadTs, include_all_metadata: true, limit: REPLIES_LIMIT, ...(cursor ? { cursor } : {}) }),
    );
  }

  /** The first message carrying this key in the pages `read` returns, newest first, at most `historyPages` of them. */
  private async findKeyed(
    channel: string,
    eventType: string,
    postKey: string,
    read: (channelId: string, cursor: string | undefined) => Promise<{ messages?: MetadataCarrier[]; response_metadata?: { next_cursor?: string } }>,
  ): Promise<PostedMessage | undefined> {
    const id = await this.channelId(channel);
    if (!id) return undefined;
    let cursor: string | undefined;
    for (let page = 0; page < this.historyPages; page++) {
      const result = await read(id, cursor);
      const found = (result.messages ?? []).find((m) => carriesKey(m, eventType, postKey));
      if (found) return { channel: id, ts: found.ts };
      cursor = result.response_metadata?.next_cursor || undefined;
      if (!cursor) break;
    }
    return undefined;
  }

  /** A message only `user` sees (e.g. "you may not act on cases"). */
  async ephemeral(channel: string, user: string, text: string): Promise<void> {
    await this.client.chat.postEphemeral({ channel, user, text });
  }

  /** Opens the note modal; the trigger id is valid for 3 s after the click. */
  async openNoteModal(triggerId: string, caseId: string, origin?: ModalOrigin): Promise<void> {
    await this.client.views.open({ trigger_id: triggerId, view: buildNoteModal(caseId, origin) });
  }

  /** Opens the resolve modal (outcome, friction, note); the trigger id is valid for 3 s after the pick. */
  async openResolveModal(triggerId: string, input: ResolveModalInput): Promise<void> {
    await this.client.views.open({ trigger_id: triggerId, view: buildResolveModal(input) });
  }

  /** Whether the user is in any of these user groups (members cached for `membershipTtlMs`). */
  async isMemberOfAny(userId: string, groupIds: readonly string[]): Promise<boolean> {
    for (const group of groupIds) {
      if ((await this.groupMembers(group)).has(userId)) return true;
    }
    return false;
  }

  private groupMembers(group: string): Promise<Set<string>> {
    const now = this.clock();
    const cached = this.members.get(group);
    if (cached && now - cached.at < this.membershipTtlMs) return cached.users;
    const users = this.client.usergroups.users.list({ usergroup: group }).then((result) => new Set(result.users ?? []));
    this.members.set(group, { at: now, users });
    users.catch(() => {
      if (this.members.get(group)?.users === users) this.members.delete(group);
    });
    return users;
  }

  /**
   * chat.postMessage through the rate-limit-only client; after an ambiguous failure, looks for the
   * message by key before trying again.
   */
  private async post(args: ChatPostMessageArguments, find: () => Promise<PostedMessage | undefined>): Promise<PostedMessage> {
    const { channel } = args;
    for (let attempt = 0; ; attempt++) {
      try {
        const posted = await this.postClient.chat.postMessage(args);
        if (!posted.ts) throw new Error('chat.postMessage answered without a ts');
        const id = posted.channel ?? channel;
        if (!CHANNEL_ID.test(channel) && CHANNEL_ID.test(id)) this.channelIds.set(channelName(channel), id);
        return { channel: id, ts: posted.ts };
      } catch (error) {
        if (!isAmbiguous(error) || attempt >= this.retry.retries) throw error;
        await sleep(Math.min(this.retry.maxTimeout, this.retry.minTimeout * this.retry.factor ** attempt));
        const found = await find();
        if (found) return found;
      }
    }
  }

  /** A channel id for an id or a `#name` (conversations.list, cached: ids never change). */
  private async channelId(channel: string): Promise<string | undefined> {
    if (CHANNEL_ID.test(channel)) return channel;
    const name = channelName(channel);
    const known = this.channelIds.get(name);
    if (known) return known;
    let cursor: string | undefined;
    for (let page = 0; page < LIST_PAGES; page++) {
      const result = await this.client.conversations.list({ types: 'public_channel,private_channel', exclude_archived: true, limit: 200, ...(cursor ? { cursor } : {}) });
      for (const c of result.channels ?? []) {
        if (c.name && c.id) this.channelIds.set(c.name, c.id);
      }
      const id = this.channelIds.get(name);
      if (id) return id;
      cursor = result.response_metadata?.next_cursor || undefined;
      if (!cursor) break;
    }
    return undefined;
  }
}

function channelName(channel: string): string {
  return channel.startsWith('#') ? channel.slice(1) : channel;
}
