import type { Command } from 'commander';
import { resolve } from 'node:path';
import { EmailTemplates } from '../../mail/email-templates.ts';
import { rulesFormat, rulesFormatWithTemplates } from '../../rules/rules-file.ts';
import { rulesPreviewCommand } from './rules-preview.ts';
import { versionedConfigCommand } from './versioned-config-command.ts';

/** Adds `rules validate|diff|apply|history|preview` (the nudge rules, /v1/rules) to the program. */
export function rulesCommand(program: Command): void {
  const rules = versionedConfigCommand(program, {
    name: 'rules',
    description: 'nudge rules: validate and preview a file offline; diff, apply and history through the HTTP API (admin key)',
    format: rulesFormat,
    checkedFormat: (config) => rulesFormatWithTemplates(new EmailTemplates(resolve(config.ONRAMP_TEMPLATES_DIR))),
    apiPath: '/v1/rules',
    summarise: ({ rules }) => `${rules.length} rule${rules.length === 1 ? '' : 's'}, ${rules.filter((r) => r.enabled).length} enabled`,
  });
  rulesPreviewCommand(rules);
}
