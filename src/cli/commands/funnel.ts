import type { Command } from 'commander';
import { loadConfig, type Config } from '../../config.ts';
import { funnelFormat } from '../../funnel/funnel-file.ts';
import { formatConfigDocumentError, type ConfigDocumentError } from '../../funnel/funnel-references.ts';
import type { FunnelPreview } from '../../preview/funnel-preview.ts';
import { positiveInt } from '../option-parsers.ts';
import { versionedConfigCommand } from './versioned-config-command.ts';

/**
 * `onramp funnel validate|diff|apply|history|show|preview`: a funnel file checked offline, as
 * `rules validate` checks rules; diff, apply (with the rules and policy that go with it), history
 * and show through the HTTP API; and what a file would say of the stored history.
 */
export function funnelCommand(program: Command): void {
  const funnel = versionedConfigCommand(program, {
    name: 'funnel',
    description:
      'the onboarding funnel: its stages and the evidence of each (config/funnel.yaml); validate and preview a file offline; diff, apply, history and show through the HTTP API (admin key)',
    format: funnelFormat,
    apiPath: '/v1/funnel',
    summarise: ({ stages }) => {
      const roles = stages.filter((s) => s.role).map((s) => `${s.role}: ${s.id}`);
      return `${stages.length} stages: ${stages.map((s) => s.id).join(' → ')}${roles.length > 0 ? `; ${roles.join(', ')}` : ''}`;
    },
    along: [
      { option: 'rules', field: 'rules', label: 'rules' },
      { option: 'policy', field: 'escalationPolicy', label: 'escalation policy' },
    ],
    // The API's errors of a change may be in the rules or policy (given, or in force) as well as the funnel.
    formatError: (error) => ('document' in error ? formatConfigDocumentError(error as ConfigDocumentError) : funnelFormat.formatError(error)),
    rejectionHint: (errors) =>
      errors.some((e) => 'version' in e)
        ? 'The rules or policy in force name stages this funnel drops: send their new versions with it (--rules <file>, --policy <file>).'
        : undefined,
    show: true,
  });
  funnel
    .command('preview <file>')
    .description('what a funnel file would say of the stored history (DATABASE_URL, read only): stages, conversion, cohorts, changed developers')
    .option('--sample <n>', 'how many developers whose current stage would change to list', positiveInt('--sample'), 20)
    .option('--json', 'print the preview as JSON')
    .action(async (file: string, options: { sample: number; json?: boolean }) => {
      process.exitCode = await funnelPreviewCommand(loadConfig(), file, options);
    });
}

/** Exit codes: 0 done, 1 invalid funnel, 2 unreadable file or no DATABASE_URL. */
async function funnelPreviewCommand(config: Config, file: string, options: { sample: number; json?: boolean }): Promise<number> {
  const read = funnelFormat.read(file);
  if (!read.ok) {
    for (const error of read.errors) process.stdout.write(`${funnelFormat.formatError(error)}\n`);
    process.stderr.write(`${file}: ${read.errors.length} error${read.errors.length === 1 ? '' : 's'}; nothing previewed\n`);
    return read.source === undefined ? 2 : 1;
  }
  if (!config.DATABASE_URL) {
    process.stderr.write('funnel preview reads the events in DATABASE_URL: set it to the database Onramp runs on\n');
    return 2;
  }
  // Imported here: the database drivers load only when a preview runs, not on every `onramp` command.
  const [{ openDatabase }, { previewFunnel }] = await Promise.all([import('../../db/database.ts'), import('../../preview/funnel-preview.ts')]);
  // One connection: the reads take turns anyway, and the embedded database serves one connection at a time.
  const db = openDatabase(config.DATABASE_URL, { max: 1 });
  try {
    const progress = process.stderr.isTTY && !options.json ? (done: number) => process.stderr.write(`\rpreview: ${done} developers`) : undefined;
    const preview = await previewFunnel(db.pool, read.document, { sample: options.sample, ...(progress ? { onProgress: progress } : {}) });
    if (progress) process.stderr.write('\n');
    process.stdout.write(options.json ? `${JSON.stringify(preview, null, 2)}\n` : formatFunnelPreview(preview));
    return 0;
  } finally {
    await db.close();
  }
}

const percent = (share: number | null) => (share === null ? '—' : `${(share * 100).toFixed(1)} %`);

function formatFunnelPreview(preview: FunnelPreview): string {
  const width = Math.max(5, ...preview.stages.map((s) => s.id.length));
  const lines = [`${preview.developers} developers with events`, '', `${'stage'.padEnd(width)}  reached  from the stage before`];
  for (const stage of preview.stages) lines.push(`${stage.id.padEnd(width)}  ${String(stage.reached).padStart(7)}  ${percent(stage.conversion)}`);
  lines.push('', 'by signup week, ISO (developers, then how many reach each stage in turn):');
  for (const cohort of preview.cohorts) lines.push(`  ${(cohort.week ?? 'no signup').padEnd(9)}  ${String(cohort.developers).padStart(6)}  ${cohort.reached.join(' → ')}`);
  lines.push(
    '',
    `${preview.changed.count} developer${preview.changed.count === 1 ? '' : 's'} would be in another stage than recorded today${preview.changed.count > 0 ? ':' : ''}`,
  );
  for (const { developerId, from, to } of preview.changed.sample) lines.push(`  ${developerId}: ${from ?? '(none)'} → ${to ?? '(none)'}`);
  if (preview.changed.count > preview.changed.sample.length) lines.push(`  … and ${preview.changed.count - preview.changed.sample.length} more (--sample, --json)`);
  return `${lines.join('\n')}\n`;
}
