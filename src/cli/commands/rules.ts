import type { Command } from 'commander';
import { resolve } from 'node:path';
import { EmailTemplates } from '../../mail/email-templates.ts';
import { loadConfig } from '../../config.ts';
import { promoteVariant } from '../../rules/promote-variant.ts';
import { rulesFormat, rulesFormatWithTemplates } from '../../rules/rules-file.ts';
import { rulesPreviewCommand } from './rules-preview-command.ts';
import { runConfigAction, versionedConfigActions, versionedConfigCommand, withApiOptions, type VersionedConfigCommandSpec } from './versioned-config-command.ts';

/** Adds `rules validate|diff|apply|rollback|history|preview|promote` (the nudge rules, /v1/rules) to the program. */
export function rulesCommand(program: Command): void {
  const spec: VersionedConfigCommandSpec<typeof rulesFormat.schema> = {
    name: 'rules',
    description: 'nudge rules: validate and preview a file offline; diff, apply and history through the HTTP API (admin key)',
    format: rulesFormat,
    checkedFormat: (config) => rulesFormatWithTemplates(new EmailTemplates(resolve(config.ONRAMP_TEMPLATES_DIR))),
    apiPath: '/v1/rules',
    summarise: ({ rules }) => `${rules.length} rule${rules.length === 1 ? '' : 's'}, ${rules.filter((r) => r.enabled).length} enabled`,
  };
  const rules = versionedConfigCommand(program, spec);
  rulesPreviewCommand(rules);
  const actions = versionedConfigActions(spec);
  withApiOptions(
    rules
      .command('promote <experiment-id> <variant-id>')
      .description("end an experiment with its winner: the rule then sends that variant only (its template; its delay as the rule's wait), applied as the next rules version")
      .requiredOption('--author <author>', 'who promotes')
      .requiredOption('--reason <reason>', 'why (stored as "promote <experiment-id>/<variant-id>: <reason>")'),
  ).action((experimentId: string, variantId: string, options: { author: string; reason: string; url?: string; key?: string }) =>
    runConfigAction(() =>
      actions.revise(loadConfig(), options, (source) => {
        const promoted = promoteVariant(source, experimentId, variantId);
        return promoted.ok ? { ok: true, source: promoted.source, reason: `promote ${experimentId}/${variantId}` } : promoted;
      }),
    ),
  );
}
