import { resolve } from 'node:path';
import type { Config } from '../config.ts';

export interface StartBannerInput {
  config: Pick<Config, 'DATABASE_URL' | 'ONRAMP_INGEST_KEY' | 'ONRAMP_ADMIN_KEY' | 'SMTP_URL' | 'SLACK_BOT_TOKEN' | 'SLACK_SIGNING_SECRET'>;
  dataDir: string;
  apiUrl: string;
  temporalAddress: string;
  temporalUi?: string;
  ingestKey: string;
  funnel: { version: number; author: string; reason: string };
  rules: { version: number; author: string; reason: string };
  policy: { version: number; author: string; reason: string };
  alerts: { version: number; author: string; reason: string };
  templates: { version: number; author: string; reason: string };
  /** Whether stdout is a terminal: only then is the ingest key itself shown. */
  tty: boolean;
}

/** Where the admin key is: its file, or the variable it came from. */
export const adminKeyLocation = (config: Pick<Config, 'ONRAMP_ADMIN_KEY'>, dataDir: string) => (config.ONRAMP_ADMIN_KEY ? 'ONRAMP_ADMIN_KEY' : resolve(dataDir, 'admin-key'));

/**
 * What `onramp start` prints once everything is up. The key files are owner-only and stdout is
 * often a log file others can read: the banner says where the keys are, shows the ingest key only
 * on a terminal, and the admin key never; its commands read the key from where it is.
 */
export function startBanner({ config, dataDir, apiUrl, temporalAddress, temporalUi, ingestKey, funnel, rules, policy, alerts, templates, tty }: StartBannerInput): string {
  const ingestKeyFile = resolve(dataDir, 'ingest-key');
  const ingestKeyAt = config.ONRAMP_INGEST_KEY ? 'from ONRAMP_INGEST_KEY' : `stored in ${ingestKeyFile}`;
  const adminKeyAt = adminKeyLocation(config, dataDir);
  const ingestKeyInCommands = tty ? ingestKey : config.ONRAMP_INGEST_KEY ? '$ONRAMP_INGEST_KEY' : `$(cat '${ingestKeyFile}')`;
  return [
    '',
    'Onramp is running.',
    `  API          ${apiUrl}   (health: ${apiUrl}/healthz, OpenAPI: ${apiUrl}/openapi.json)`,
    `  Temporal     ${temporalAddress}${temporalUi ? `   (UI: ${temporalUi})` : ''}`,
    `  Database     ${config.DATABASE_URL ? 'DATABASE_URL' : `embedded PGlite in ${resolve(dataDir, 'pglite')}`}`,
    `  Ingest key   ${tty ? `${ingestKey} (${ingestKeyAt})` : ingestKeyAt}`,
    `  Admin key    ${config.ONRAMP_ADMIN_KEY ? 'from ONRAMP_ADMIN_KEY' : `stored in ${adminKeyAt}`}`,
    `  Funnel       version ${funnel.version} (${funnel.author}: ${funnel.reason}); onramp funnel history`,
    `  Rules        version ${rules.version} (${rules.author}: ${rules.reason}); onramp rules history`,
    `  Escalation   policy version ${policy.version} (${policy.author}: ${policy.reason}); onramp policy history`,
    `  Templates    version ${templates.version} (${templates.author}: ${templates.reason}); onramp templates history`,
    `  Alerts       version ${alerts.version} (${alerts.author}: ${alerts.reason}); onramp alerts history${config.SLACK_BOT_TOKEN ? '' : ' (no Slack: recorded and sent to webhooks only)'}`,
    `  Email        ${config.SMTP_URL ? `SMTP (${new URL(config.SMTP_URL).host})` : `local outbox: curl ${apiUrl}/v1/emails -H 'Authorization: Bearer <admin key>'`}`,
    `  Dashboard    ${apiUrl}/dashboard   (asks for the admin key)`,
    `  Handoffs     ${config.SLACK_BOT_TOKEN ? 'posted to Slack, and ' : ''}the inbox ${apiUrl}/dashboard/handoffs; onramp handoffs list${config.SLACK_SIGNING_SECRET ? `; Slack interactivity URL ${apiUrl}/slack/interactions` : ''}`,
    '',
    `  curl -X POST ${apiUrl}/v1/events -H "Authorization: Bearer ${ingestKeyInCommands}" -H 'Content-Type: application/json' \\`,
    `    -d '{"id":"evt_1","type":"developer.signed_up","developerId":"dev_42","occurredAt":"2026-11-01T10:00:00Z","properties":{"email":"ada@example.com","accountType":"individual","acquisitionChannel":"organic_search"}}'`,
    `  curl ${apiUrl}/v1/developers/dev_42/journey -H "Authorization: Bearer ${ingestKeyInCommands}"`,
    '',
    'Ctrl-C stops everything; data stays in ' + dataDir,
    '',
  ].join('\n');
}
