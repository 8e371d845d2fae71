import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { ConfigError, loadConfig } from '../config.ts';
import { API_URL_HELP } from './api-url.ts';
import { importCommand } from './commands/import.ts';
import { journeyCommand } from './commands/journey.ts';
import { handoffsCommand } from './commands/handoffs.ts';
import { keysCommand } from './commands/keys.ts';
import { agentsCommand } from './commands/agents.ts';
import { webhooksCommand } from './commands/webhooks.ts';
import { funnelCommand } from './commands/funnel.ts';
import { policyCommand } from './commands/policy.ts';
import { alertsCommand } from './commands/alerts.ts';
import { rulesCommand } from './commands/rules.ts';
import { templatesCommand } from './commands/templates.ts';
import { annotationsCommand } from './commands/annotations.ts';
import { simulateCommand } from './commands/simulate.ts';
import { packagePath } from '../package-root.ts';

// The servers (start, api, worker) and the migrations are imported when their command runs: they load
// Temporal, the database drivers and the web server, seconds of start-up that `onramp handoffs …`,
// `--help` and every other client command would otherwise pay on each run.

/** The `onramp` command with every subcommand, built without parsing argv (the docs check walks it). */
export function buildProgram(): Command {
  const { version } = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string };
  const program = new Command('onramp').description('Onboarding orchestration for developer platforms').version(version, '--version', 'print the version and exit');
  // The program's own options only before a command: `onramp funnel show --version 2` is the funnel's.
  program.enablePositionalOptions();
  program
    .command('start')
    .description('run everything on embedded defaults (Temporal dev server, PGlite) unless TEMPORAL_ADDRESS / DATABASE_URL are set')
    .option('--demo', 'then feed it a synthetic cohort (the last 45 days of 400 developers) so the dashboard fills within a minute')
    .action(async (options: { demo?: boolean }) => (await import('./commands/start.ts')).startCommand(loadConfig(), options));
  program
    .command('api')
    .description('run the HTTP API and outbox dispatcher (needs DATABASE_URL, TEMPORAL_ADDRESS, ONRAMP_INGEST_KEY)')
    .action(async () => (await import('./commands/api.ts')).apiCommand(loadConfig()));
  program
    .command('worker')
    .description('run the journey worker (needs DATABASE_URL, TEMPORAL_ADDRESS)')
    .action(async () => (await import('./commands/worker.ts')).workerCommand(loadConfig()));
  program
    .command('migrate')
    .description('apply pending database migrations to DATABASE_URL')
    .action(async () => {
      const config = loadConfig();
      if (!config.DATABASE_URL) throw new ConfigError('Missing environment: DATABASE_URL');
      const { applyMigrations } = await import('../db/migrate.ts');
      const { applied } = await applyMigrations(config.DATABASE_URL);
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'up to date\n');
    });
  program
    .command('journey <developerId>')
    .description("print one developer's journey as a timeline (through the HTTP API)")
    .option('--url <url>', API_URL_HELP)
    .option('--key <key>', 'API key (default ONRAMP_INGEST_KEY or the embedded key in $ONRAMP_DATA_DIR)')
    .option('--json', 'print the raw JSON')
    .action(async (developerId: string, options) => {
      process.exitCode = await journeyCommand(loadConfig(), developerId, options);
    });

  funnelCommand(program);
  rulesCommand(program);
  templatesCommand(program);
  annotationsCommand(program);
  policyCommand(program);
  alertsCommand(program);
  simulateCommand(program);
  keysCommand(program);
  agentsCommand(program);
  webhooksCommand(program);
  handoffsCommand(program);
  importCommand(program);
  return program;
}
