import { describe, expect, it } from 'vitest';
import { startBanner, type StartBannerInput } from '../../src/cli/start-banner.ts';

const INGEST_KEY = 'onr_ingest_0123456789abcdefghijklmnop';
const input = (tty: boolean, config: Partial<StartBannerInput['config']> = {}): StartBannerInput => ({
  config: { ...config },
  dataDir: '/srv/onramp/.data',
  apiUrl: 'http://localhost:3000',
  temporalAddress: '127.0.0.1:7233',
  ingestKey: INGEST_KEY,
  funnel: { version: 1, author: 'onramp', reason: 'initial funnel' },
  rules: { version: 1, author: 'onramp', reason: 'initial rules' },
  policy: { version: 1, author: 'onramp', reason: 'initial policy' },
  alerts: { version: 1, author: 'onramp', reason: 'initial alerts' },
  templates: { version: 3, author: 'ada', reason: 'rollback to v1: the old subject converted better' },
  tty,
});

describe("onramp start's banner", () => {
  it('says where the keys are and shows no key when stdout is no terminal (a log file); its commands read the key from its file', () => {
    const banner = startBanner(input(false));
    expect(banner).not.toContain(INGEST_KEY);
    expect(banner).toMatch(/^ {2}Ingest key {3}stored in \/srv\/onramp\/\.data\/ingest-key$/m);
    expect(banner).toMatch(/^ {2}Admin key {4}stored in \/srv\/onramp\/\.data\/admin-key$/m);
    expect(banner).toContain(`-H "Authorization: Bearer $(cat '/srv/onramp/.data/ingest-key')"`);
  });

  it('names the variables keys came from, never their values', () => {
    const banner = startBanner(input(false, { ONRAMP_INGEST_KEY: INGEST_KEY, ONRAMP_ADMIN_KEY: 'admin-key-from-env-0123456789' }));
    expect(banner).not.toContain(INGEST_KEY);
    expect(banner).not.toContain('admin-key-from-env');
    expect(banner).toMatch(/^ {2}Ingest key {3}from ONRAMP_INGEST_KEY$/m);
    expect(banner).toMatch(/^ {2}Admin key {4}from ONRAMP_ADMIN_KEY$/m);
    expect(banner).toContain('-H "Authorization: Bearer $ONRAMP_INGEST_KEY"');
  });

  it('shows the ingest key on a terminal, the admin key still only by its place', () => {
    const banner = startBanner(input(true));
    expect(banner).toMatch(new RegExp(`^ {2}Ingest key {3}${INGEST_KEY} \\(stored in /srv/onramp/\\.data/ingest-key\\)$`, 'm'));
    expect(banner).toContain(`-H "Authorization: Bearer ${INGEST_KEY}"`);
    expect(banner).toMatch(/^ {2}Admin key {4}stored in \/srv\/onramp\/\.data\/admin-key$/m);
  });
});

describe("onramp start's banner on alerts", () => {
  it('names the alerts version in force, and says where alerts go without Slack', () => {
    expect(startBanner(input(false))).toMatch(/^ {2}Alerts {7}version 1 \(onramp: initial alerts\); onramp alerts history \(no Slack: recorded and sent to webhooks only\)$/m);
    expect(startBanner(input(false, { SLACK_BOT_TOKEN: 'xoxb-1' }))).toMatch(/^ {2}Alerts {7}version 1 \(onramp: initial alerts\); onramp alerts history$/m);
  });
});

describe("onramp start's banner on templates", () => {
  it('names the templates version emails are sent from', () => {
    expect(startBanner(input(false))).toMatch(/^ {2}Templates {4}version 3 \(ada: rollback to v1: the old subject converted better\); onramp templates history$/m);
  });
});
