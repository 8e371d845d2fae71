import { createPublicKey } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import ms from 'ms';
import { z } from 'zod';

const commaSeparated = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

/**
 * Environment → typed config, validated once at start-up. A bad value stops start-up with a
 * message naming the variable.
 */
const variables = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().refine(isPostgresUrl, 'must be a postgres:// or postgresql:// URL').optional(),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[\w.-]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:7233')
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /**
   * A read replica (hot standby) of DATABASE_URL for the metrics endpoints, the dashboard's reads and
   * the stagnation-risk curves; unset: they read DATABASE_URL. Only `onramp api` and `onramp start` read it.
   */
  ONRAMP_METRICS_DATABASE_URL: z.string().refine(isPostgresUrl, 'must be a postgres:// or postgresql:// URL').optional(),
  /** The most connections each process (api, worker, start) opens to DATABASE_URL; size PostgreSQL's max_connections by the sum. */
  ONRAMP_DATABASE_CONNECTIONS: z.coerce.number().int().min(1).max(1000).default(10),
  ONRAMP_INGEST_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  ONRAMP_DATA_DIR: z.string().min(1).default('.data'),
  /** Where the CLI's API commands call; unset: the running `onramp start` of ONRAMP_DATA_DIR, else http://localhost:$PORT. */
  ONRAMP_API_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Guards the admin endpoints (rules …); never the ingest key. Unset in embedded mode: generated and stored. */
  ONRAMP_ADMIN_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /** The rules file applied as version 1 when no version exists yet. */
  ONRAMP_RULES_FILE: z.string().min(1).default('config/rules.yaml'),
  /** The escalation policy file applied as version 1 when no version exists yet. */
  ONRAMP_ESCALATION_FILE: z.string().min(1).default('config/escalation.yaml'),
  /** The alerts file applied as version 1 when no version exists yet. */
  ONRAMP_ALERTS_FILE: z.string().min(1).default('config/alerts.yaml'),
  /** How long a developer's api.request rows are stored raw after their signup (docs/concepts/storage.md), in ms once parsed. */
  ONRAMP_RAW_REQUESTS_AFTER_SIGNUP: z.string().default('90d').transform(durationOfASecondOrMore),
  /** …and after they reached the funnel's final stage, whichever ends first; later requests are counted into rollups only. */
  ONRAMP_RAW_REQUESTS_AFTER_FINAL_STAGE: z.string().default('30d').transform(durationOfASecondOrMore),
  /** Days of api.request ids kept to refuse duplicates besides today's (ids cost about 100 bytes a request of that traffic). */
  ONRAMP_REQUEST_DEDUP_DAYS: z.coerce.number().int().min(1).max(90).default(7),
  /** How often the retention Schedule runs its round (default 1 hour), in ms once parsed. */
  ONRAMP_RETENTION_EVERY: z.string().default('1h').transform(durationOfASecondOrMore),
  /** How often each API process evaluates the alerts (default 5 minutes), in ms once parsed. */
  ONRAMP_ALERTS_EVERY: z.string().default('5m').transform(durationOfASecondOrMore),
  /** Which Segment calls (/v1/sources/segment/…) are which Onramp events: docs/guides/sources/segment.md. */
  ONRAMP_SEGMENT_MAPPING: z.string().min(1).default('config/segment.yaml'),
  /** The signing secret of the Clerk webhook endpoint (`whsec_…`): docs/guides/sources/clerk.md. */
  ONRAMP_CLERK_WEBHOOK_SECRET: z.string().startsWith('whsec_', "must be the endpoint's signing secret from Clerk (whsec_…)").optional(),
  /** The Event Webhook's verification key (Settings → Mail Settings → Event Webhook, base64 or PEM): docs/guides/sources/sendgrid.md. */
  ONRAMP_SENDGRID_WEBHOOK_PUBLIC_KEY: z.string().refine(isEcPublicKey, "must be the Event Webhook's verification key (an ECDSA public key, base64 or PEM)").optional(),
  /** The SNS topics /v1/sources/ses takes deliveries of (comma-separated ARNs); unset: any topic, as long as SNS signed it. */
  ONRAMP_SES_TOPIC_ARNS: z.string().transform(commaSeparated).optional(),
  /** Hosts (`host` or `host:port`) trusted beside sns.<region>.amazonaws.com to serve SNS signing certificates and subscription links: for tests and private endpoints only. */
  ONRAMP_SNS_CERT_HOSTS: z.string().transform(commaSeparated).optional(),
  /**
   * When a source that received requests is flagged silent (GET /v1/sources, onramp_source_silent):
   * a duration for every source (`1h`), per source after it (`1h,kong=15m,auth0=1d`). `import` is a
   * backfill: silent only when named.
   */
  ONRAMP_SOURCE_SILENT_AFTER: z
    .string()
    .default('1h')
    .transform((value, ctx) => {
      const parsed = parseSilentAfter(value);
      if (typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', message: parsed });
        return z.NEVER;
      }
      return parsed;
    }),
  /** The funnel file applied as version 1 when no version exists yet (then the stored versions are in force). */
  ONRAMP_FUNNEL_FILE: z.string().min(1).default('config/funnel.yaml'),
  /** Email: nodemailer over SMTP when set (smtp:// or smtps://); otherwise the local outbox. */
  SMTP_URL: z
    .string()
    .refine((v) => ['smtp:', 'smtps:'].includes(safeProtocol(v)), 'must be an smtp:// or smtps:// URL')
    .optional(),
  /** The sender; unset: the brand's `from` in templates/email.yaml, else `Onramp <onboarding@onramp.local>`. */
  ONRAMP_MAIL_FROM: z.string().min(3).optional(),
  /** Where links in emails (unsubscribe, docs) point: this API as developers reach it. */
  ONRAMP_PUBLIC_URL: z.url().optional(),
  ONRAMP_TEMPLATES_DIR: z.string().min(1).default('templates'),
  /** The documentation linked from nudge emails. */
  ONRAMP_DOCS_URL: z.url().default('https://docs.example.com'),
  /** Open and click tracking in nudge emails (docs/concepts/nudges.md#tracking-opens-and-clicks): `html`, `off` or `html,text`. */
  ONRAMP_EMAIL_TRACKING: z
    .string()
    .default('html')
    .transform((value, ctx) => parseEmailTracking(value) ?? (ctx.addIssue({ code: 'custom', message: 'must be html, off, text or html,text' }), z.NEVER)),
  /** Signs the links in emails (unsubscribe, tracking); api and worker must share it. Unset: generated once in the data dir. */
  ONRAMP_SIGNING_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Slack: posts cases when set (a bot token, xoxb-…); unset, cases are handled through the API only. */
  SLACK_BOT_TOKEN: z.string().min(10).optional(),
  /** Verifies Slack's interaction requests (POST /slack/interactions); unset, that endpoint answers 404. */
  SLACK_SIGNING_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** The Slack Web API base (default https://slack.com/api/); for a proxy or a local test server. */
  SLACK_API_URL: z.url().optional(),
  /** Agents' key for the handoff endpoints (GET /v1/handoffs, POST /v1/handoffs/:id/actions); the admin key works too. */
  ONRAMP_AGENT_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * More user agents to count as SDKs (SDK vs raw HTTP, docs/concepts/funnel.md), beside the shipped patterns: a
   * JSON array of regular expressions, e.g. `["^acme-cli/", "AcmeKit"]` (case-insensitive).
   */
  ONRAMP_SDK_USER_AGENTS: z
    .string()
    .transform((value, ctx) => {
      try {
        const sources: unknown = JSON.parse(value);
        if (!Array.isArray(sources) || !sources.every((s) => typeof s === 'string' && s.length > 0)) throw new Error('must be a JSON array of non-empty strings');
        return sources.map((source: string) => new RegExp(source, 'i'));
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `must be a JSON array of regular expressions: ${(error as Error).message}` });
        return z.NEVER;
      }
    })
    .optional(),
  /** `onramp worker` serves its own Prometheus metrics (activity failures, process) on this port at /metrics. */
  ONRAMP_WORKER_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** Read-only key for the metrics endpoints (GET /v1/metrics/…); the admin key works too. */
  ONRAMP_METRICS_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Embedded Temporal dev server ports (only when TEMPORAL_ADDRESS is unset). */
  ONRAMP_TEMPORAL_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  ONRAMP_TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` (one object a line) or `pretty` (for a person); unset, pretty when stdout is a terminal, else JSON. */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  ONRAMP_DISPATCH_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(32),
  // Workflow tasks waiting in the journeys' task queue at which the dispatcher claims no more
  // outbox rows until the workers catch up (0: no limit): a backlog stays in the outbox, and the
  // Temporal server's time goes to running journeys rather than to starting ever more of them.
  ONRAMP_DISPATCH_MAX_BACKLOG: z.coerce.number().int().min(0).max(1_000_000).default(200),
  /** Private or loopback addresses and CIDRs a webhook receiver may have (comma-separated); every other non-public address is refused (SSRF). */
  ONRAMP_WEBHOOK_ALLOWED_ADDRESSES: z
    .string()
    .optional()
    .transform((value, ctx) => {
      const entries = (value ?? '')
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean);
      const bad = entries.find((e) => !isAddressOrCidr(e));
      if (bad) return (ctx.addIssue({ code: 'custom', message: `${bad} is not an IP address or CIDR` }), z.NEVER);
      return entries;
    }),
  /** How long an undelivered webhook is retried (default a day), in ms once parsed. */
  ONRAMP_WEBHOOK_RETRY_FOR: z.string().default('24h').transform(durationOfASecondOrMore),
  /** How long the webhook delivery log keeps a delivered or given-up message (default 30 days), in ms once parsed. */
  ONRAMP_WEBHOOK_LOG_RETENTION: z.string().default('30d').transform(durationOfASecondOrMore),
  // Workflow tasks the worker takes from the server at once. It runs them one at a time on its
  // workflow thread, and a task's 10 s timeout runs from when it is taken: with more taken than
  // the thread gets through in 5 s, the SDK warns `[TMPRL1104] Workflow task duration exceeded`
  // and past 10 s the task times out and runs again. The tasks are not slow (tens of ms each):
  // they queue. `start --demo` on 2 busy cores starts 400 journeys at once and hits it at 200;
  // at 20 it does not. Lower it on a small machine; tasks left waiting wait on the server.
  ONRAMP_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(200),
  // Journeys kept in the worker's memory between tasks (about 1.5 MB each); the others replay
  // their history when they next wake. Bounds the worker's RSS however many are in flight.
  ONRAMP_WORKER_CACHED_WORKFLOWS: z.coerce.number().int().min(2).max(100_000).default(300),
  NODE_ENV: z.string().optional(),
});
const schema = variables.refine((config) => !config.ONRAMP_METRICS_DATABASE_URL || config.DATABASE_URL, {
  path: ['ONRAMP_METRICS_DATABASE_URL'],
  message: 'is a read replica of DATABASE_URL: set DATABASE_URL too',
});

/** Which parts of a nudge email are tracked (ONRAMP_EMAIL_TRACKING). */
export interface EmailTracking {
  html: boolean;
  text: boolean;
}

/** `html`, `text`, both (`html,text`), or `off`; null for anything else. */
function parseEmailTracking(value: string): EmailTracking | null {
  const parts = new Set(value.split(',').map((p) => p.trim().toLowerCase()));
  if (parts.size === 1 && parts.has('off')) return { html: false, text: false };
  if ([...parts].some((p) => p !== 'html' && p !== 'text')) return null;
  return { html: parts.has('html'), text: parts.has('text') };
}

/** How long a source may receive nothing before it is silent (ONRAMP_SOURCE_SILENT_AFTER), in ms. */
export interface SilentAfter {
  default: number;
  bySource: Record<string, number>;
}

/** `1h` or `1h,kong=15m,…` (a bare duration is the default, at most one); a message saying what is wrong otherwise. */
export function parseSilentAfter(value: string): SilentAfter | string {
  const parsed: SilentAfter = { default: 3_600_000, bySource: {} };
  let defaults = 0;
  for (const item of value.split(',').map((part) => part.trim())) {
    const [name, duration] = item.includes('=') ? item.split('=', 2).map((part) => part.trim()) : [undefined, item];
    const milliseconds = durationWithUnit(duration ?? '');
    if (milliseconds === undefined) return `"${item}": must be a duration such as 1h or 15m, or source=duration`;
    if (name === undefined) {
      parsed.default = milliseconds;
      if (++defaults > 1) return 'names one default duration at most';
    } else if (!/^[a-z0-9-]+$/.test(name)) return `"${item}": the source must be a source name such as kong`;
    else parsed.bySource[name] = milliseconds;
  }
  return parsed;
}

/** A duration with its unit (`90m`, `24h`, `30d`) in ms, positive; undefined otherwise (`ms` would read a bare number as milliseconds). */
function durationWithUnit(value: string): number | undefined {
  const parsed = /^\d+(\.\d+)?\s*[a-z]+$/i.test(value) ? (ms(value as ms.StringValue) as number | undefined) : undefined;
  return typeof parsed === 'number' && parsed > 0 ? parsed : undefined;
}

/** A variable's duration of at least a second, in ms (a zod transform). */
function durationOfASecondOrMore(value: string, ctx: z.RefinementCtx): number {
  const parsed = durationWithUnit(value);
  if (parsed !== undefined && parsed >= 1000) return parsed;
  ctx.addIssue({ code: 'custom', message: 'must be a duration of a second or more, like "90m", "24h" or "30d"' });
  return z.NEVER;
}

function safeProtocol(value: string): string {
  try {
    return new URL(value).protocol;
  } catch {
    return '';
  }
}

function isPostgresUrl(value: string): boolean {
  try {
    return ['postgres:', 'postgresql:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {}

/** The base of the links Onramp hands out (emails, Slack): ONRAMP_PUBLIC_URL, else this machine's API. */
export function publicUrl(config: Config): string {
  return config.ONRAMP_PUBLIC_URL ?? `http://localhost:${config.PORT}`;
}

/** The raw-request window of the environment (the RawRequestWindow the ingest and the retention rounds apply). */
export function rawRequestWindow(config: Config): { afterSignupMs: number; afterFinalStageMs: number; dedupDays: number } {
  return {
    afterSignupMs: config.ONRAMP_RAW_REQUESTS_AFTER_SIGNUP,
    afterFinalStageMs: config.ONRAMP_RAW_REQUESTS_AFTER_FINAL_STAGE,
    dedupDays: config.ONRAMP_REQUEST_DEDUP_DAYS,
  };
}

/**
 * What a production process (`onramp api`, `onramp worker`) says at start-up when ONRAMP_PUBLIC_URL
 * is unset: the links it hands out would point at localhost, which nobody else reaches. (The
 * embedded `onramp start` runs on one machine, where localhost is right.)
 */
export function publicUrlWarning(config: Config): string | undefined {
  if (config.ONRAMP_PUBLIC_URL) return undefined;
  return `ONRAMP_PUBLIC_URL is unset: the links in emails (unsubscribe, tracked clicks) and in Slack (Open case, the journey) point at ${publicUrl(config)}, which developers and agents on other machines cannot reach`;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // A blank value (`PORT=` in an env file or compose) means unset: without this, z.coerce turned
  // PORT='' into 0 (a random port) and other variables failed instead of taking their defaults.
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value === undefined || value.trim() !== ''));
  const parsed = schema.safeParse(set);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
  throw new ConfigError(`Invalid environment:\n${problems.join('\n')}`);
}

/** SendGrid shows its verification key as base64 DER (SubjectPublicKeyInfo); a PEM works too. */
function isEcPublicKey(value: string): boolean {
  try {
    const key = value.includes('-----BEGIN') ? createPublicKey(value) : createPublicKey({ key: Buffer.from(value.trim(), 'base64'), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ec';
  } catch {
    return false;
  }
}

function isAddressOrCidr(value: string): boolean {
  if (ipaddr.isValid(value)) return true;
  try {
    ipaddr.parseCIDR(value);
    return true;
  } catch {
    return false;
  }
}
