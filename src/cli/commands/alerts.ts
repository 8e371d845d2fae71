import type { Command } from 'commander';
import { alertsFormat } from '../../rules/alerts-file.ts';
import { ALERT_KINDS } from '../../rules/alerts-schema.ts';
import type { FiredAlert } from '../../alerts/recent-alerts.ts';
import { Option } from 'commander';
import { admin, withApi } from '../admin-command.ts';
import { intInRange } from '../option-parsers.ts';
import { versionedConfigCommand } from './versioned-config-command.ts';

/** One alert per line: when, open or cleared, what, and the dashboard view that shows it. */
const alertLine = (a: FiredAlert) =>
  `${a.firedAt}  ${a.clearedAt ? `cleared ${a.clearedAt}` : 'OPEN'}  ${a.kind}  ${a.summary}\n    ${a.link}` +
  (a.slack?.error ? `\n    not posted: Slack refused it (${a.slack.error})` : '');

/** Adds `alerts validate|diff|apply|rollback|history|show` (the alerts document, /v1/alerts) and `alerts fired` to the program. */
export function alertsCommand(program: Command): void {
  const alerts = versionedConfigCommand(program, {
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
  withApi(alerts.command('fired').description('the alerts fired, newest first, each with the dashboard view that shows it'))
    .addOption(new Option('--open', 'only those still open').conflicts('cleared'))
    .option('--cleared', 'only those cleared')
    .addOption(new Option('--kind <kind>', 'only this kind').choices(ALERT_KINDS))
    .option('--limit <n>', 'alerts (1–500)', intInRange('--limit', 1, 500), 50)
    .option('--json', 'print the raw JSON')
    .action((options: { open?: boolean; cleared?: boolean; kind?: string; limit: number; json?: boolean; url?: string; key?: string }) =>
      admin(options, async (api) => {
        const query = new URLSearchParams({
          limit: String(options.limit),
          ...(options.open ? { open: 'true' } : options.cleared ? { open: 'false' } : {}),
          ...(options.kind ? { kind: options.kind } : {}),
        });
        const { alerts: fired } = await api.get<{ alerts: FiredAlert[] }>(`/v1/alerts/fired?${query}`);
        process.stdout.write(options.json ? `${JSON.stringify(fired, null, 2)}\n` : fired.length === 0 ? 'no alerts\n' : fired.map((a) => `${alertLine(a)}\n`).join(''));
      }),
    );
}
