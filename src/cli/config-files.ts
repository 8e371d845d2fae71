import { resolve } from 'node:path';
import type pg from 'pg';
import type { Config } from '../config.ts';
import { ensureConfigInForce, type ConfigInForce } from '../funnel/config-in-force.ts';
import { readTemplateFolder, templateFilesHash } from '../mail/template-files.ts';
import { TemplateStore, type TemplateVersion } from '../mail/template-store.ts';
import { TemplatesInForceCache } from '../mail/templates-in-force.ts';

/**
 * Start-up of a process that serves the documents: the templates folder as templates version 1
 * where none is stored (later edits are applied with `onramp templates apply`, like the rules'
 * file), then the config files (config-in-force.ts), the rules checked against the templates in force.
 * `templatesFolderDiffers`: the folder has edits not applied (start-up says so; what is sent stays).
 */
export async function ensureDocumentsInForce(pool: pg.Pool, config: Config): Promise<ConfigInForce & { templates: TemplateVersion; templatesFolderDiffers: boolean }> {
  const dir = resolve(config.ONRAMP_TEMPLATES_DIR);
  const templates = await new TemplateStore(pool).ensureInitialVersion(dir);
  const inForce = new TemplatesInForceCache(pool, dir);
  await inForce.refresh();
  const documents = await ensureConfigInForce(pool, {
    funnelFile: config.ONRAMP_FUNNEL_FILE,
    rulesFile: config.ONRAMP_RULES_FILE,
    escalationFile: config.ONRAMP_ESCALATION_FILE,
    alertsFile: config.ONRAMP_ALERTS_FILE,
    templates: inForce,
  });
  return { ...documents, templates, templatesFolderDiffers: templateFilesHash(readTemplateFolder(dir)) !== templates.contentHash };
}

/** The warning for a templates folder edited but not applied. */
export const templatesFolderWarning = (config: Config, version: number) =>
  `${config.ONRAMP_TEMPLATES_DIR} differs from templates v${version}, which emails are sent from: apply it with \`onramp templates apply\``;
