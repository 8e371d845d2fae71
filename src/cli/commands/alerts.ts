import type { Command } from 'commander';
import { alertsFormat } from '../../rules/alerts-file.ts';
import { ALERT_KINDS } from '../../rules/alerts-schema.ts';
import { versionedConfigCommand } from './versioned-config-command.ts';

/** Adds `alerts validate|diff|apply|rollback|history|show` (the alerts document, /v1/alerts) to the program. */
export function alertsCommand(program: Command): void {
  versionedConfigCommand(program, {
    name: 'alerts',
    description: 'alerts: validate a file offline; diff, apply, rollback, show and history through the HTTP API (admin key)',
    format: alertsFormat,
    apiPath: '/v1/alerts',
    show: true,
    summarise: (document) => {
      const watched = ALERT_KINDS.filter((kind) => document[kind].enabled);
      const to = [document.slack ? `Slack ${document.slack.channel}` : 'no Slack', document.webhooks ? 'webhooks' : 'no webhooks'].join(', ');
      return `${watched.length} of ${ALERT_KINDS.length} kinds watched${watched.length ? `: ${watched.join(', ')}` : ''}; ${to}`;
    },
  });
}
