import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, publicUrlWarning } from '../../src/config.ts';
import { sdkClassifier } from '../../src/events/user-agent.ts';

/** The thrown error, asserted to be a ConfigError (loadConfig must not throw anything else). */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

/** "names the variable": a problem line for exactly it (PORT must not match ONRAMP_TEMPORAL_PORT). */
function namesVariable(message: string, name: string): boolean {
  return new RegExp(`^\\s*${name}:`, 'm').test(message);
}

/** The defaults of the variables that neither of the first two tests sets. */
const UNSET_BY_BOTH = {
  NODE_ENV: undefined,
  ONRAMP_RULES_FILE: 'config/rules.yaml',
  ONRAMP_ESCALATION_FILE: 'config/escalation.yaml',
  ONRAMP_ALERTS_FILE: 'config/alerts.yaml',
  ONRAMP_ALERTS_EVERY: 300_000,
  ONRAMP_RAW_REQUESTS_AFTER_SIGNUP: 90 * 86_400_000,
  ONRAMP_RAW_REQUESTS_AFTER_FINAL_STAGE: 30 * 86_400_000,
  ONRAMP_REQUEST_DEDUP_DAYS: 7,
  ONRAMP_DATABASE_CONNECTIONS: 10,
  ONRAMP_METRICS_DATABASE_URL: undefined,
  ONRAMP_RETENTION_EVERY: 3_600_000,
  ONRAMP_FUNNEL_FILE: 'config/funnel.yaml',
  ONRAMP_SEGMENT_MAPPING: 'config/segment.yaml',
  ONRAMP_MAIL_FROM: undefined,
  ONRAMP_TEMPLATES_DIR: 'templates',
  ONRAMP_DOCS_URL: 'https://docs.example.com',
  ONRAMP_EMAIL_TRACKING: { html: true, text: false },
  ONRAMP_SOURCE_SILENT_AFTER: { default: 3_600_000, bySource: {} },
  ONRAMP_WEBHOOK_ALLOWED_ADDRESSES: [],
  ONRAMP_WEBHOOK_RETRY_FOR: 86_400_000,
  ONRAMP_WEBHOOK_LOG_RETENTION: 2_592_000_000,
};

describe('publicUrlWarning', () => {
  it('warns a production process that its links would point at localhost, and says nothing once ONRAMP_PUBLIC_URL is set', () => {
    expect(publicUrlWarning(loadConfig({ PORT: '8080' }))).toMatch(/^ONRAMP_PUBLIC_URL is unset: .* point at http:\/\/localhost:8080, /);
    expect(publicUrlWarning(loadConfig({ ONRAMP_PUBLIC_URL: 'https://onramp.example.com' }))).toBeUndefined();
  });
});

describe('loadConfig', () => {
  it('applies the documented defaults (docs/reference/configuration.md) to an empty environment', () => {
    expect(loadConfig({})).toEqual({
      PORT: 3000,
      HOST: '0.0.0.0',
      DATABASE_URL: undefined,
      TEMPORAL_ADDRESS: undefined,
      TEMPORAL_NAMESPACE: 'default',
      ONRAMP_INGEST_KEY: undefined,
      ONRAMP_DATA_DIR: '.data',
      ONRAMP_TEMPORAL_PORT: 7233,
      ONRAMP_TEMPORAL_UI_PORT: 8233,
      ONRAMP_DISPATCH_CONCURRENCY: 32,
      ONRAMP_DISPATCH_MAX_BACKLOG: 200,
      ONRAMP_WORKER_CONCURRENCY: 200,
      ONRAMP_WORKER_CACHED_WORKFLOWS: 300,
      LOG_LEVEL: 'info',
      ...UNSET_BY_BOTH,
    });
  });

  it('parses each documented variable', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      DATABASE_URL: 'postgres://onramp:secret@db.internal:5432/onramp?sslmode=require',
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'onboarding',
      ONRAMP_INGEST_KEY: 'k'.repeat(16),
      ONRAMP_DATA_DIR: '/var/lib/onramp',
      ONRAMP_TEMPORAL_PORT: '17233',
      ONRAMP_TEMPORAL_UI_PORT: '18233',
      ONRAMP_DISPATCH_CONCURRENCY: '8',
      ONRAMP_DISPATCH_MAX_BACKLOG: '0',
      ONRAMP_WORKER_CONCURRENCY: '50',
      ONRAMP_WORKER_CACHED_WORKFLOWS: '1000',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'json',
      PATH: '/usr/bin', // the rest of the environment is ignored
    });
    expect(config).toEqual({
      PORT: 8080,
      HOST: '127.0.0.1',
      DATABASE_URL: 'postgres://onramp:secret@db.internal:5432/onramp?sslmode=require',
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'onboarding',
      ONRAMP_INGEST_KEY: 'kkkkkkkkkkkkkkkk',
      ONRAMP_DATA_DIR: '/var/lib/onramp',
      ONRAMP_TEMPORAL_PORT: 17233,
      ONRAMP_TEMPORAL_UI_PORT: 18233,
      ONRAMP_DISPATCH_CONCURRENCY: 8,
      ONRAMP_DISPATCH_MAX_BACKLOG: 0,
      ONRAMP_WORKER_CONCURRENCY: 50,
      ONRAMP_WORKER_CACHED_WORKFLOWS: 1000,
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'json',
      ...UNSET_BY_BOTH,
    });
  });

  it('reads which parts of an email are tracked, and refuses anything else', () => {
    expect(loadConfig({ ONRAMP_EMAIL_TRACKING: 'off' }).ONRAMP_EMAIL_TRACKING).toEqual({ html: false, text: false });
    expect(loadConfig({ ONRAMP_EMAIL_TRACKING: 'html, text' }).ONRAMP_EMAIL_TRACKING).toEqual({ html: true, text: true });
    expect(() => loadConfig({ ONRAMP_EMAIL_TRACKING: 'html,pixel' })).toThrow(/ONRAMP_EMAIL_TRACKING/);
  });

  it('reads where webhooks may go although private, and how long they are retried', () => {
    const config = loadConfig({ ONRAMP_WEBHOOK_ALLOWED_ADDRESSES: '10.0.4.12, 192.168.0.0/16,::1', ONRAMP_WEBHOOK_RETRY_FOR: '6h', ONRAMP_WEBHOOK_LOG_RETENTION: '7d' });
    expect(config.ONRAMP_WEBHOOK_LOG_RETENTION).toBe(604_800_000);
    expect(config.ONRAMP_WEBHOOK_ALLOWED_ADDRESSES).toEqual(['10.0.4.12', '192.168.0.0/16', '::1']);
    expect(config.ONRAMP_WEBHOOK_RETRY_FOR).toBe(21_600_000);
  });

  it('reads when a source is silent: a default, then per source', () => {
    expect(loadConfig({ ONRAMP_SOURCE_SILENT_AFTER: '2h, kong=15m,import=1d' }).ONRAMP_SOURCE_SILENT_AFTER).toEqual({
      default: 7_200_000,
      bySource: { kong: 900_000, import: 86_400_000 },
    });
    expect(loadConfig({ ONRAMP_SOURCE_SILENT_AFTER: 'segment=90s' }).ONRAMP_SOURCE_SILENT_AFTER).toEqual({ default: 3_600_000, bySource: { segment: 90_000 } });
  });

  it('accepts both PostgreSQL URL schemes and every pino level', () => {
    expect(loadConfig({ DATABASE_URL: 'postgresql://localhost/onramp' }).DATABASE_URL).toBe('postgresql://localhost/onramp');
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
      expect(loadConfig({ LOG_LEVEL: level }).LOG_LEVEL).toBe(level);
    }
  });

  it.each([
    ['PORT', 'notaport'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '3.5'],
    ['DATABASE_URL', 'mysql://localhost/onramp'],
    ['DATABASE_URL', 'not a url'],
    ['ONRAMP_METRICS_DATABASE_URL', 'mysql://replica/onramp'],
    ['ONRAMP_METRICS_DATABASE_URL', 'postgresql://replica/onramp'], // without DATABASE_URL, of which it is a replica
    ['ONRAMP_DATABASE_CONNECTIONS', '0'],
    ['TEMPORAL_ADDRESS', 'localhost'],
    ['TEMPORAL_ADDRESS', 'http://localhost:7233'],
    ['ONRAMP_INGEST_KEY', 'k'.repeat(15)],
    ['ONRAMP_TEMPORAL_PORT', '0'],
    ['ONRAMP_DISPATCH_CONCURRENCY', '0'],
    ['ONRAMP_DISPATCH_MAX_BACKLOG', '-1'],
    ['ONRAMP_WORKER_CACHED_WORKFLOWS', '1'], // a task needs a cached workflow: at least 2
    ['LOG_LEVEL', 'verbose'],
    ['LOG_FORMAT', 'text'],
    ['ONRAMP_SDK_USER_AGENTS', '^acme-cli/'],
    ['ONRAMP_SDK_USER_AGENTS', '["(unclosed"]'],
    ['ONRAMP_WEBHOOK_ALLOWED_ADDRESSES', '10.0.0.0/33'],
    ['ONRAMP_WEBHOOK_ALLOWED_ADDRESSES', 'intranet.local'],
    ['ONRAMP_WEBHOOK_RETRY_FOR', 'a day'],
    ['ONRAMP_WEBHOOK_RETRY_FOR', '500ms'],
    ['ONRAMP_WEBHOOK_LOG_RETENTION', '30'], // a duration needs its unit
    ['ONRAMP_SOURCE_SILENT_AFTER', 'soon'],
    ['ONRAMP_SOURCE_SILENT_AFTER', '90'], // a duration needs its unit
    ['ONRAMP_SOURCE_SILENT_AFTER', 'kong='],
    ['ONRAMP_SOURCE_SILENT_AFTER', '1h,2h'],
    ['ONRAMP_SOURCE_SILENT_AFTER', 'Kong!=1h'],
  ])('rejects %s=%j with a ConfigError naming it', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.message).toMatch(/^Invalid environment:/);
    expect(namesVariable(error.message, name)).toBe(true);
  });

  it('adds ONRAMP_SDK_USER_AGENTS to the shipped SDK patterns', () => {
    const { ONRAMP_SDK_USER_AGENTS: extra } = loadConfig({ ONRAMP_SDK_USER_AGENTS: '["^acme-cli/", "AcmeKit"]' });
    const isSdk = sdkClassifier(extra);
    expect(['acme-cli/2.1', 'MyApp AcmeKit/3', 'stripe-node/14.0.0', 'curl/8.5.0'].map((ua) => isSdk(ua))).toEqual([true, true, true, false]);
    expect(sdkClassifier()('acme-cli/2.1')).toBe(false); // not without the setting
  });

  it('names every bad variable at once', () => {
    const { message } = configError({ PORT: 'notaport', DATABASE_URL: 'mysql://x', TEMPORAL_ADDRESS: 'nope', ONRAMP_INGEST_KEY: 'short' });
    for (const name of ['PORT', 'DATABASE_URL', 'TEMPORAL_ADDRESS', 'ONRAMP_INGEST_KEY']) expect(namesVariable(message, name)).toBe(true);
    expect(namesVariable(message, 'ONRAMP_TEMPORAL_PORT')).toBe(false);
  });

  it('treats empty (and blank) strings as unset: defaults, embedded mode, no error', () => {
    const empty = Object.fromEntries(
      [
        'PORT',
        'HOST',
        'DATABASE_URL',
        'TEMPORAL_ADDRESS',
        'TEMPORAL_NAMESPACE',
        'ONRAMP_INGEST_KEY',
        'ONRAMP_DATA_DIR',
        'ONRAMP_TEMPORAL_PORT',
        'ONRAMP_TEMPORAL_UI_PORT',
        'ONRAMP_DISPATCH_CONCURRENCY',
        'ONRAMP_WORKER_CONCURRENCY',
        'ONRAMP_WORKER_CACHED_WORKFLOWS',
        'LOG_LEVEL',
      ].map((name) => [name, '']),
    );
    expect(loadConfig(empty)).toEqual(loadConfig({}));
    // Number('') and Number(' ') are 0: a blank PORT must not become "any free port".
    expect(loadConfig({ PORT: ' ' }).PORT).toBe(3000);
    const embedded = loadConfig({ DATABASE_URL: '', TEMPORAL_ADDRESS: '', ONRAMP_INGEST_KEY: '' });
    expect([embedded.DATABASE_URL, embedded.TEMPORAL_ADDRESS, embedded.ONRAMP_INGEST_KEY]).toEqual([undefined, undefined, undefined]);
  });
});
