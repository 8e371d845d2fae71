import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { funnelFormat } from '../../funnel/funnel-file.ts';
import { versionedConfigActions } from './versioned-config-command.ts';

/**
 * Adds `funnel validate` to the program: a funnel file checked offline, as `rules validate` checks
 * rules. Applying a funnel (versions, history, preview) comes with the funnel the engine runs.
 */
export function funnelCommand(program: Command): void {
  const actions = versionedConfigActions({
    name: 'funnel',
    description: 'the onboarding funnel',
    format: funnelFormat,
    apiPath: '/v1/funnel',
    summarise: ({ stages }) => {
      const roles = stages.filter((s) => s.role).map((s) => `${s.role}: ${s.id}`);
      return `${stages.length} stages: ${stages.map((s) => s.id).join(' → ')}${roles.length > 0 ? `; ${roles.join(', ')}` : ''}`;
    },
  });
  program
    .command('funnel')
    .description('the onboarding funnel: its stages and the evidence of each (config/funnel.yaml)')
    .command('validate <file>')
    .description('check a funnel file (no database or API needed); exit 0 valid, 1 invalid')
    .action((file: string) => {
      process.exitCode = actions.validate(loadConfig(), file);
    });
}
