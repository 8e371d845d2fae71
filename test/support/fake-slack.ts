import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Slack Web API (the methods Onramp uses), for the real `WebClient`:
 * `new WebClient(token, { slackApiUrl: fake.slackApiUrl })`. Bodies form-encoded (what WebClient
 * sends; nested values as JSON strings) or JSON; the bearer token is checked; answers are shaped
 * like Slack's (`ok`, channel ids even when posting to `#name`, increasing `ts` strings, message
 * echo, `response_metadata.next_cursor`). It keeps messages per channel with their metadata and
 * threads, records every call, and fails on demand (HTTP 5xx, 429 with Retry-After, or a Slack
 * error). It also checks the Block Kit limits Slack enforces (`invalid_blocks`).
 *
 * Also answers `POST /hooks/<id>` (interaction `response_url`s), recorded as method `response_url`.
 */

/**
 * `{ status }`: an HTTP error (with `retryAfter` seconds for 429) before anything is done;
 * `{ hang: true }`: never answered (the client times out); with `afterApply`, carried out first;
 * `{ status, afterApply: true }`: the call is carried out, then answered with the HTTP error (a
 * post whose answer was lost); `{ error }`: a Slack error (`{ ok: false, error }`, HTTP 200).
 */
export type FakeSlackFailure = { status: number; retryAfter?: number; afterApply?: boolean } | { error: string } | { hang: true; afterApply?: boolean };

export interface FakeSlackCall {
  method: string;
  params: Record<string, unknown>;
  /** HTTP status answered. */
  status: number;
  response: unknown;
  at: number;
  /** The client's port (which process made the call: see ProductionTopology.workerOwningConnection). */
  remotePort?: number;
}

export interface FakeSlackMessage {
  type: 'message';
  ts: string;
  user: string;
  bot_id: string;
  app_id: string;
  team: string;
  text: string;
  blocks?: unknown[];
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  thread_ts?: string;
  reply_count?: number;
  reply_users?: string[];
  reply_users_count?: number;
  latest_reply?: string;
  edited?: { user: string; ts: string };
  subtype?: string;
}

export interface FakeEphemeral {
  channel: string;
  user: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
  message_ts: string;
}

export interface FakeView {
  id: string;
  trigger_id: string;
  view: Record<string, unknown>;
}

export interface FakeSlackOptions {
  token: string;
  /** Channel names that exist from the start (default `general`). */
  channels?: string[];
  /** Posting to an unknown `#name` creates the channel (default true); false: `channel_not_found`. */
  autoCreateChannels?: boolean;
  /** For message timestamps; default Date.now. */
  clock?: () => number;
}

export interface FakeSlack {
  /** `http://127.0.0.1:<port>/api/` (trailing slash, as WebClient expects). */
  slackApiUrl: string;
  /** `http://127.0.0.1:<port>/`. */
  url: string;
  /** Every call, oldest first (of one method if given); includes failed ones. */
  calls(method?: string): FakeSlackCall[];
  /** The next `count` calls of `method` fail this way (queued after earlier failNext calls). */
  failNext(method: string, count: number, failure: FakeSlackFailure): void;
  /** A channel's messages and thread replies, oldest first (channel by id, `#name` or name). */
  messages(channel: string): FakeSlackMessage[];
  /** A thread's replies (without the parent), oldest first. */
  replies(channel: string, threadTs: string): FakeSlackMessage[];
  ephemerals(): FakeEphemeral[];
  views(): FakeView[];
  /** Creates (or finds) a channel; returns its id. */
  addChannel(name: string): string;
  /** The id of a channel name (`#name` or name), if it exists. */
  channelId(name: string): string | undefined;
  setUsergroup(id: string, members: string[]): void;
  /** A `response_url` on this server. */
  responseUrl(id?: string): string;
  /** Stops listening (connections are refused) until `online()`, on the same port. */
  offline(): Promise<void>;
  online(): Promise<void>;
  close(): Promise<void>;
}

const BOT = { user: 'U0ONRAMPBOT', bot_id: 'B0ONRAMP', app_id: 'A0ONRAMP', team: 'T0ONRAMP' };
const JSON_FIELDS = new Set(['blocks', 'attachments', 'metadata', 'view']);

class SlackError extends Error {
  constructor(
    readonly error: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(error);
  }
}

interface Channel {
  id: string;
  name: string;
  created: number;
  messages: FakeSlackMessage[];
}

const encodeCursor = (value: string) => Buffer.from(value).toString('base64');
const decodeCursor = (cursor: unknown) => (typeof cursor === 'string' && cursor ? Buffer.from(cursor, 'base64').toString('utf8') : undefined);
const truthy = (value: unknown) => value === true || value === 'true' || value === '1' || value === 1;
const tsNumber = (ts: string) => Number(ts);

function limitOf(value: unknown, fallback: number, max: number): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0) return fallback;
  return Math.min(Math.floor(n), max);
}

function textLength(text: unknown): number {
  return typeof text === 'object' && text !== null && typeof (text as { text?: unknown }).text === 'string' ? (text as { text: string }).text.length : 0;
}

/** The Block Kit limits Slack answers `invalid_blocks` for (the ones a case message could hit). */
function blockProblems(blocks: unknown[], max: number): string[] {
  const problems: string[] = [];
  if (blocks.length > max) problems.push(`no more than ${max} items allowed [json-pointer:/blocks]`);
  const ids = new Set<string>();
  blocks.forEach((raw, i) => {
    const block = raw as Record<string, unknown>;
    const at = `[json-pointer:/blocks/${i}`;
    if (typeof block !== 'object' || block === null || typeof block.type !== 'string') return void problems.push(`missing required field: type ${at}]`);
    if (typeof block.block_id === 'string') {
      if (block.block_id.length > 255) problems.push(`must be less than 256 characters ${at}/block_id]`);
      if (ids.has(block.block_id)) problems.push(`duplicate block_id ${at}/block_id]`);
      ids.add(block.block_id);
    }
    switch (block.type) {
      case 'section': {
        const fields = Array.isArray(block.fields) ? block.fields : [];
        if (!block.text && fields.length === 0) problems.push(`must provide text or fields ${at}]`);
        if (textLength(block.text) > 3000) problems.push(`must be less than 3001 characters ${at}/text/text]`);
        if (block.text !== undefined && textLength(block.text) === 0) problems.push(`must be more than 0 characters ${at}/text/text]`);
        if (fields.length > 10) problems.push(`no more than 10 items allowed ${at}/fields]`);
        fields.forEach((f, j) => textLength(f) > 2000 && problems.push(`must be less than 2001 characters ${at}/fields/${j}/text]`));
        break;
      }
      case 'header':
        if (textLength(block.text) > 150) problems.push(`must be less than 151 characters ${at}/text/text]`);
        break;
      case 'actions': {
        const elements = Array.isArray(block.elements) ? (block.elements as Record<string, unknown>[]) : [];
        if (elements.length === 0 || elements.length > 25) problems.push(`must have 1 to 25 elements ${at}/elements]`);
        elements.forEach((e, j) => {
          if (textLength(e.text) > 75) problems.push(`must be less than 76 characters ${at}/elements/${j}/text/text]`);
          if (typeof e.value === 'string' && e.value.length > 2000) problems.push(`must be less than 2001 characters ${at}/elements/${j}/value]`);
          const options = Array.isArray(e.options) ? (e.options as Record<string, unknown>[]) : [];
          if (e.type === 'static_select' && (options.length === 0 || options.length > 100)) problems.push(`must have 1 to 100 options ${at}/elements/${j}/options]`);
          options.forEach((o, k) => {
            if (textLength(o.text) > 75) problems.push(`must be less than 76 characters ${at}/elements/${j}/options/${k}/text/text]`);
            if (typeof o.value === 'string' && o.value.length > 150) problems.push(`must be less than 151 characters ${at}/elements/${j}/options/${k}/value]`);
          });
        });
        break;
      }
      case 'context': {
        const elements = Array.isArray(block.elements) ? block.elements : [];
        if (elements.length === 0 || elements.length > 10) problems.push(`must have 1 to 10 elements ${at}/elements]`);
        break;
      }
    }
  });
  return problems;
}

export async function startFakeSlack(options: FakeSlackOptions): Promise<FakeSlack> {
  const clock = options.clock ?? Date.now;
  const autoCreate = options.autoCreateChannels ?? true;
  const channels = new Map<string, Channel>();
  const byName = new Map<string, string>();
  const usergroups = new Map<string, string[]>();
  const recorded: FakeSlackCall[] = [];
  const failures = new Map<string, FakeSlackFailure[]>();
  const ephemerals: FakeEphemeral[] = [];
  const views: FakeView[] = [];
  let lastMicros = 0;
  let counter = 0;
  let viewCounter = 0;

  /** `1732400000.000100`: seconds and microseconds, strictly increasing. */
  function nextTs(): string {
    lastMicros = Math.max(clock() * 1000, lastMicros + 1);
    return `${Math.floor(lastMicros / 1e6)}.${String(lastMicros % 1e6).padStart(6, '0')}`;
  }

  function addChannel(name: string): string {
    const clean = name.replace(/^#/, '');
    const existing = byName.get(clean);
    if (existing) return existing;
    counter++;
    const id = `C0FAKE${String(counter).padStart(4, '0')}`;
    channels.set(id, { id, name: clean, created: Math.floor(clock() / 1000), messages: [] });
    byName.set(clean, id);
    return id;
  }
  for (const name of options.channels ?? ['general']) addChannel(name);

  /** chat.postMessage / postEphemeral take ids or names; the other methods take ids only. */
  function channelOf(ref: unknown, { names, create }: { names: boolean; create?: boolean }): Channel {
    if (typeof ref !== 'string' || ref === '') throw new SlackError('channel_not_found');
    const byId = channels.get(ref);
    if (byId) return byId;
    if (!names || /^[CGD][A-Z0-9]{2,}$/.test(ref)) throw new SlackError('channel_not_found');
    const id = byName.get(ref.replace(/^#/, ''));
    if (id) return channels.get(id)!;
    if (create && autoCreate) return channels.get(addChannel(ref))!;
    throw new SlackError('channel_not_found');
  }

  function findMessage(channel: Channel, ts: unknown): FakeSlackMessage | undefined {
    return channel.messages.find((m) => m.ts === ts);
  }

  const withMetadata = (m: FakeSlackMessage, include: boolean) => {
    if (include || !m.metadata) return { ...m };
    const { metadata: _metadata, ...rest } = m;
    return rest;
  };

  function validateMessage(params: Record<string, unknown>, requireContent: boolean) {
    const { text, blocks, metadata } = params;
    if (requireContent && (typeof text !== 'string' || text === '') && !(Array.isArray(blocks) && blocks.length > 0)) throw new SlackError('no_text');
    if (typeof text === 'string' && text.length > 40_000) throw new SlackError('msg_too_long');
    if (blocks !== undefined) {
      if (!Array.isArray(blocks)) throw new SlackError('invalid_blocks_format');
      const problems = blockProblems(blocks, 50);
      if (problems.length > 0) throw new SlackError('invalid_blocks', { errors: problems, response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } });
    }
    if (metadata !== undefined) {
      const m = metadata as Record<string, unknown> | null;
      if (typeof m !== 'object' || m === null || typeof m.event_type !== 'string' || typeof m.event_payload !== 'object' || m.event_payload === null) {
        throw new SlackError('invalid_metadata_format');
      }
    }
  }

  function page<T>(items: T[], params: Record<string, unknown>, fallback: number, max: number): { items: T[]; next?: string } {
    const offset = Number(decodeCursor(params.cursor)?.replace(/^offset:/, '') ?? 0) || 0;
    const limit = limitOf(params.limit, fallback, max);
    const slice = items.slice(offset, offset + limit);
    return { items: slice, ...(offset + limit < items.length ? { next: encodeCursor(`offset:${offset + limit}`) } : {}) };
  }

  function inWindow(ts: string, params: Record<string, unknown>): boolean {
    const inclusive = truthy(params.inclusive);
    const n = tsNumber(ts);
    if (typeof params.oldest === 'string' && params.oldest !== '' && (inclusive ? n < Number(params.oldest) : n <= Number(params.oldest))) return false;
    if (typeof params.latest === 'string' && params.latest !== '' && (inclusive ? n > Number(params.latest) : n >= Number(params.latest))) return false;
    return true;
  }

  const methods: Record<string, (params: Record<string, unknown>) => Record<string, unknown>> = {
    'auth.test': () => ({
      url: 'https://onramp-test.slack.com/',
      team: 'Onramp Test',
      user: 'onramp',
      team_id: BOT.team,
      user_id: BOT.user,
      bot_id: BOT.bot_id,
      is_enterprise_install: false,
    }),

    'chat.postMessage': (params) => {
      const channel = channelOf(params.channel, { names: true, create: true });
      validateMessage(params, true);
      const threadTs = typeof params.thread_ts === 'string' && params.thread_ts !== '' ? params.thread_ts : undefined;
      const parent = threadTs ? findMessage(channel, threadTs) : undefined;
      if (threadTs && (!parent || (parent.thread_ts && parent.thread_ts !== parent.ts))) throw new SlackError('thread_not_found');
      const ts = nextTs();
      const message: FakeSlackMessage = {
        type: 'message',
        ts,
        ...BOT,
        text: typeof params.text === 'string' ? params.text : '',
        ...(Array.isArray(params.blocks) ? { blocks: params.blocks } : {}),
        ...(params.metadata ? { metadata: params.metadata as FakeSlackMessage['metadata'] } : {}),
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ...(threadTs && truthy(params.reply_broadcast) ? { subtype: 'thread_broadcast' } : {}),
      };
      channel.messages.push(message);
      if (parent) {
        parent.thread_ts = parent.ts;
        parent.reply_count = (parent.reply_count ?? 0) + 1;
        parent.reply_users = [BOT.user];
        parent.reply_users_count = 1;
        parent.latest_reply = ts;
      }
      return { channel: channel.id, ts, message: { ...message } };
    },

    'chat.update': (params) => {
      const channel = channelOf(params.channel, { names: false });
      const message = findMessage(channel, params.ts);
      if (!message) throw new SlackError('message_not_found');
      validateMessage(params, false);
      // Slack keeps what an update leaves out; `blocks: []` removes the blocks.
      if (typeof params.text === 'string') message.text = params.text;
      if (Array.isArray(params.blocks)) {
        if (params.blocks.length > 0) message.blocks = params.blocks;
        else delete message.blocks;
      }
      if (params.metadata) message.metadata = params.metadata as FakeSlackMessage['metadata'];
      message.edited = { user: BOT.user, ts: nextTs() };
      return { channel: channel.id, ts: message.ts, text: message.text, message: { ...message } };
    },

    'chat.postEphemeral': (params) => {
      const channel = channelOf(params.channel, { names: true });
      if (typeof params.user !== 'string' || params.user === '') throw new SlackError('user_not_found');
      validateMessage(params, true);
      const message_ts = nextTs();
      ephemerals.push({
        channel: channel.id,
        user: params.user,
        text: typeof params.text === 'string' ? params.text : '',
        ...(Array.isArray(params.blocks) ? { blocks: params.blocks } : {}),
        ...(typeof params.thread_ts === 'string' ? { thread_ts: params.thread_ts } : {}),
        message_ts,
      });
      return { message_ts };
    },

    'conversations.history': (params) => {
      const channel = channelOf(params.channel, { names: false });
      const include = truthy(params.include_all_metadata);
      const topLevel = channel.messages
        .filter((m) => !m.thread_ts || m.thread_ts === m.ts || m.subtype === 'thread_broadcast')
        .filter((m) => inWindow(m.ts, params))
        .reverse();
      const { items, next } = page(topLevel, params, 100, 999);
      return {
        messages: items.map((m) => withMetadata(m, include)),
        has_more: next !== undefined,
        pin_count: 0,
        channel_actions_ts: null,
        channel_actions_count: 0,
        ...(next ? { response_metadata: { next_cursor: next } } : {}),
      };
    },

    'conversations.replies': (params) => {
      const channel = channelOf(params.channel, { names: false });
      const parent = findMessage(channel, params.ts);
      if (!parent) throw new SlackError('thread_not_found');
      const include = truthy(params.include_all_metadata);
      const thread = [parent, ...channel.messages.filter((m) => m.thread_ts === parent.ts && m.ts !== parent.ts)].filter((m) => m === parent || inWindow(m.ts, params));
      const { items, next } = page(thread, params, 1000, 1000);
      return { messages: items.map((m) => withMetadata(m, include)), has_more: next !== undefined, ...(next ? { response_metadata: { next_cursor: next } } : {}) };
    },

    'conversations.list': (params) => {
      const all = [...channels.values()].map((c) => ({
        id: c.id,
        name: c.name,
        name_normalized: c.name,
        is_channel: true,
        is_group: false,
        is_im: false,
        is_private: false,
        is_archived: false,
        is_member: true,
        created: c.created,
        context_team_id: BOT.team,
      }));
      const { items, next } = page(all, params, 100, 1000);
      return { channels: items, response_metadata: { next_cursor: next ?? '' } };
    },

    'views.open': (params) => {
      if (typeof params.trigger_id !== 'string' || params.trigger_id === '') throw new SlackError('invalid_trigger_id');
      const view = params.view as Record<string, unknown> | undefined;
      if (typeof view !== 'object' || view === null || view.type !== 'modal') throw new SlackError('invalid_arguments');
      const problems = [
        ...(textLength(view.title) === 0 || textLength(view.title) > 24 ? ['title must be 1 to 24 characters [json-pointer:/view/title/text]'] : []),
        ...(typeof view.private_metadata === 'string' && view.private_metadata.length > 3000 ? ['must be less than 3001 characters [json-pointer:/view/private_metadata]'] : []),
        ...(typeof view.callback_id === 'string' && view.callback_id.length > 255 ? ['must be less than 256 characters [json-pointer:/view/callback_id]'] : []),
        ...(Array.isArray(view.blocks)
          ? blockProblems(view.blocks, 100).map((p) => p.replace('/blocks', '/view/blocks'))
          : ['missing required field: blocks [json-pointer:/view/blocks]']),
      ];
      if (problems.length > 0) throw new SlackError('invalid_arguments', { response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } });
      viewCounter++;
      const id = `V0FAKE${String(viewCounter).padStart(4, '0')}`;
      views.push({ id, trigger_id: params.trigger_id, view });
      return {
        view: {
          id,
          team_id: BOT.team,
          type: 'modal',
          private_metadata: '',
          callback_id: '',
          external_id: '',
          clear_on_close: false,
          notify_on_close: false,
          ...view,
          state: { values: {} },
          hash: `${Math.floor(clock() / 1000)}.${id}`,
          root_view_id: id,
          previous_view_id: null,
          app_id: BOT.app_id,
          app_installed_team_id: BOT.team,
          bot_id: BOT.bot_id,
        },
      };
    },

    'usergroups.users.list': (params) => {
      const members = typeof params.usergroup === 'string' ? usergroups.get(params.usergroup) : undefined;
      if (!members) throw new SlackError('no_such_subteam');
      return { users: [...members] };
    },
  };

  function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> {
    if (!raw) return {};
    if (contentType?.includes('application/json')) {
      const parsed: unknown = JSON.parse(raw);
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    }
    const params: Record<string, unknown> = {};
    for (const [key, value] of new URLSearchParams(raw)) {
      if (JSON_FIELDS.has(key)) {
        try {
          params[key] = JSON.parse(value);
        } catch {
          params[key] = value;
        }
      } else params[key] = value;
    }
    return params;
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8', ...headers });
    res.end(text);
  }

  function takeFailure(method: string): FakeSlackFailure | undefined {
    const queue = failures.get(method);
    const failure = queue?.shift();
    if (queue && queue.length === 0) failures.delete(method);
    return failure;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const at = clock();
    let params: Record<string, unknown>;
    try {
      params = parseBody(raw, req.headers['content-type']);
    } catch {
      return send(res, 200, { ok: false, error: 'invalid_json' });
    }

    const hook = /^\/hooks\/(.+)$/.exec(path);
    const api = /^\/api\/([A-Za-z0-9._]+)$/.exec(path);
    const method = hook ? 'response_url' : api ? api[1]! : undefined;
    const { token: _token, ...recordedParams } = params;
    const remotePort = req.socket.remotePort;
    const record = (status: number, response: unknown) =>
      recorded.push({ method: method ?? path, params: hook ? { ...recordedParams, hook: hook[1] } : recordedParams, status, response, at, ...(remotePort ? { remotePort } : {}) });
    if (!method) {
      record(404, 'not found');
      return send(res, 404, 'not found');
    }

    const failure = takeFailure(method);
    if (failure && 'hang' in failure) {
      const applied = failure.afterApply ? (hook ? 'ok' : answer(method, req, params)) : undefined;
      record(0, { applied, answered: 'never' });
      return; // left open: closeAllConnections() ends it at close()
    }
    if (failure && !('error' in failure) && failure.afterApply) {
      const applied = hook ? 'ok' : answer(method, req, params);
      record(failure.status, { applied, answered: `fake slack: HTTP ${failure.status}` });
      return send(res, failure.status, `fake slack: HTTP ${failure.status}`);
    }
    if (failure) {
      if ('error' in failure) {
        const body = { ok: false, error: failure.error };
        record(200, body);
        return send(res, 200, body);
      }
      const body = failure.status === 429 ? { ok: false, error: 'ratelimited' } : `fake slack: HTTP ${failure.status}`;
      record(failure.status, body);
      return send(res, failure.status, body, failure.retryAfter !== undefined ? { 'retry-after': String(failure.retryAfter) } : {});
    }

    if (hook) {
      record(200, 'ok');
      return send(res, 200, 'ok');
    }

    const body = answer(method, req, params);
    record(200, body);
    send(res, 200, body);
  }

  function answer(method: string, req: IncomingMessage, params: Record<string, unknown>): Record<string, unknown> {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? (typeof params.token === 'string' ? params.token : undefined);
    if (!bearer) return { ok: false, error: 'not_authed' };
    if (bearer !== options.token) return { ok: false, error: 'invalid_auth' };
    const impl = methods[method];
    if (!impl) return { ok: false, error: 'unknown_method', req_method: method };
    try {
      return { ok: true, ...impl(params) };
    } catch (error) {
      if (!(error instanceof SlackError)) throw error;
      return { ok: false, error: error.error, ...error.extra };
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, `fake slack crashed: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/`;

  const channelFor = (ref: string) => channels.get(ref) ?? channels.get(byName.get(ref.replace(/^#/, '')) ?? '');

  return {
    slackApiUrl: `${url}api/`,
    url,
    calls: (method) => recorded.filter((c) => method === undefined || c.method === method).map((c) => ({ ...c })),
    failNext: (method, count, failure) => {
      const queue = failures.get(method) ?? [];
      for (let i = 0; i < count; i++) queue.push(failure);
      failures.set(method, queue);
    },
    messages: (channel) => (channelFor(channel)?.messages ?? []).map((m) => ({ ...m })),
    replies: (channel, threadTs) => (channelFor(channel)?.messages ?? []).filter((m) => m.thread_ts === threadTs && m.ts !== threadTs).map((m) => ({ ...m })),
    ephemerals: () => ephemerals.map((e) => ({ ...e })),
    views: () => views.map((v) => ({ ...v })),
    addChannel,
    channelId: (name) => channelFor(name)?.id,
    setUsergroup: (id, members) => {
      usergroups.set(id, [...members]);
    },
    responseUrl: (id = `T0ONRAMP/${Date.now()}/fake`) => `${url}hooks/${id}`,
    offline: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    online: () => new Promise<void>((resolve, reject) => server.listen(port, '127.0.0.1', () => resolve()).once('error', reject)),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        if (!server.listening) return resolve();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
