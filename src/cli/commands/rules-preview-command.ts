import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { CliFailure } from '../cli-failure.ts';
import { instant, positiveInt } from '../option-parsers.ts';

export interface PreviewCliOptions {
  developers: number;
  days: number;
  seed: number;
  history?: boolean;
  from?: Date;
  to?: Date;
  policy?: string;
  funnel?: string;
  against?: string;
  /** false with --no-compare. */
  compare: boolean;
  failIf: string[];
  json?: boolean;
}

/** Adds `preview <file>` to `onramp rules`. */
export function rulesPreviewCommand(rules: Command): void {
  rules
    .command('preview <file>')
    .description(
      'run a candidate rules file and the rules in force against the same cohort in sandboxes (time-skipping Temporal, in-memory PostgreSQL) and report what the candidate would send and escalate, and what changes; sends nothing',
    )
    .option('--developers <n>', 'synthetic developers', positiveInt('--developers'), 200)
    .option('--days <n>', 'days of signups (synthetic), or of history before --to (--history)', positiveInt('--days'), 30)
    .option('--seed <n>', 'random seed of the synthetic cohort', positiveInt('--seed'), 1)
    .option('--history', 'replay the real history in DATABASE_URL (read only) instead of a synthetic cohort')
    .option('--from <date>', 'with --history: developers who signed up from this date (default --to minus --days)', instant('--from'))
    .option('--to <date>', 'with --history: … until this date (default now)', instant('--to'))
    .option('--policy <file>', 'escalation policy (default: the running one with --history, else ONRAMP_ESCALATION_FILE)')
    .option('--funnel <file>', 'the funnel the journeys follow (default: the one in force with --history, else ONRAMP_FUNNEL_FILE)')
    .option('--against <file>', 'the rules to compare with (default: the running ones with --history, else ONRAMP_RULES_FILE)')
    .option('--no-compare', 'preview the candidate alone, without the run of the rules in force')
    .option(
      '--fail-if <threshold>',
      "exit 3 when this holds of the comparison, e.g. 'sends > +20%', 'escalations > +5', 'changed-developers > 100' (repeatable)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--json', 'print the report as JSON (stdout holds nothing else)')
    .action(async (file: string, options: PreviewCliOptions) => {
      try {
        process.exitCode = 0;
        // The sandboxes (a Temporal test server, PGlite) load only when a preview runs.
        const { previewRules } = await import('./rules-preview.ts');
        await previewRules(loadConfig(), file, options);
      } catch (error) {
        if (!(error instanceof CliFailure)) throw error;
        process.stderr.write(`${error.message}\n`);
        process.exitCode = error.exitCode;
      }
    });
}
