import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../../config.ts';
import { EmailTemplates, formatTemplateProblem, type TemplateProblem } from '../../mail/email-templates.ts';
import { diffTemplateFiles, readTemplateFolder, type TemplateFiles } from '../../mail/template-files.ts';
import { templatesLabel } from '../../mail/template-store.ts';
import { admin, withApi } from '../admin-command.ts';
import { CliFailure } from '../cli-failure.ts';
import { positiveInt } from '../option-parsers.ts';
import { configApi, printHistory, runConfigAction, withApiOptions, type ApiOptions } from './versioned-config-command.ts';

/**
 * `onramp templates …`: check the nudge templates here, see one as a developer would get it, and
 * change the version emails are sent from (apply a folder, roll back, history), through the API.
 */

interface VersionBody {
  version: number;
  author: string;
  reason: string;
  createdAt: string;
  diff: string;
  created?: boolean;
  files?: TemplateFiles;
}

const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const err = (text: string) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
const folderOf = (config: Config, dir: string | undefined) => resolve(dir ?? config.ONRAMP_TEMPLATES_DIR);

function failure(status: number, body: unknown): CliFailure {
  const errors = (body as { errors?: { path: string; message: string }[] } | undefined)?.errors;
  const detail = Array.isArray(errors) ? errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('\n') : JSON.stringify(body);
  return new CliFailure(`${status === 401 ? '401 (wrong or missing admin key)' : status}: ${detail}`, 1);
}

/**
 * PUTs `files` as the next templates version; prints what became of them. Exit 1 when refused
 * (each problem as `file:line:column: message`): nothing applied.
 */
async function putTemplates(config: Config, options: ApiOptions, body: { files: TemplateFiles; author: string; reason: string }, what: string): Promise<number> {
  const result = await configApi(config, options)('PUT', '/v1/templates', body);
  if (result.status === 400) {
    for (const problem of (result.body as { errors?: TemplateProblem[] }).errors ?? []) out(formatTemplateProblem(problem));
    err(`${what} rejected: nothing applied, the templates version in force is unchanged`);
    return 1;
  }
  if (result.status !== 200 && result.status !== 201) throw failure(result.status, result.body);
  const applied = result.body as VersionBody;
  if (!applied.created) out(`${what} is identical to the templates version in force (${applied.version}): nothing applied`);
  else {
    out(`applied ${what} as templates version ${applied.version} (${applied.author}: ${applied.reason})`);
    out(applied.diff);
  }
  return 0;
}

async function getVersion(config: Config, options: ApiOptions, version: number): Promise<VersionBody & { files: TemplateFiles }> {
  const result = await configApi(config, options)('GET', `/v1/templates/versions/${version}`);
  if (result.status !== 200) throw failure(result.status, result.body);
  return result.body as VersionBody & { files: TemplateFiles };
}

interface Preview {
  template: string;
  developerId: string;
  locale: string;
  category: string;
  from: string;
  subject: string;
  text: string;
  html: string;
}

export function templatesCommand(program: Command): void {
  const templates = program.command('templates').description('the nudge email templates: check them, preview one for a developer');

  templates
    .command('validate [dir]')
    .description('check every template and email.yaml in dir (default ONRAMP_TEMPLATES_DIR): parts, variables, categories, translations; exit 1 on any problem')
    .option('--json', 'print the problems as JSON')
    .action((dir: string | undefined, options: { json?: boolean }) => {
      const folder = new EmailTemplates(resolve(dir ?? loadConfig().ONRAMP_TEMPLATES_DIR));
      const problems = folder.problems();
      if (options.json) process.stdout.write(`${JSON.stringify({ templates: [...folder.names()].sort(), problems }, null, 2)}\n`);
      else if (problems.length === 0) process.stdout.write(`ok: ${folder.names().size} templates in ${folder.label}\n`);
      else
        process.stderr.write(`${problems.map((p) => `${formatTemplateProblem(p)}\n`).join('')}${problems.length} problem${problems.length === 1 ? '' : 's'} in ${folder.label}\n`);
      process.exitCode = problems.length === 0 ? 0 : 1;
    });

  withApi(templates.command('preview <name>').description('render a template as a developer would get it now, through the API (admin key); sends nothing'))
    .option('--developer <id>', 'whose name, locale and stage to use (default: a sample developer)')
    .option('--locale <tag>', "render this translation instead of the developer's locale")
    .option('--html <file>', 'write the HTML part to file (open it in a browser)')
    .option('--json', "print the API's JSON (subject, from, text, html)")
    .action((name: string, options: { developer?: string; locale?: string; html?: string; json?: boolean; url?: string; key?: string }) =>
      admin(options, async (api) => {
        const query = new URLSearchParams({ ...(options.developer ? { developer: options.developer } : {}), ...(options.locale ? { locale: options.locale } : {}) });
        const preview = await api.get<Preview>(`/v1/templates/${encodeURIComponent(name)}/preview${query.size > 0 ? `?${query}` : ''}`);
        if (options.html) writeFileSync(options.html, preview.html);
        if (options.json) {
          process.stdout.write(`${JSON.stringify(preview, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          `From: ${preview.from}\nSubject: ${preview.subject}\nTemplate: ${preview.template} (${preview.locale}, category ${preview.category}) for ${preview.developerId}\n\n${preview.text}`,
        );
        if (options.html) process.stderr.write(`HTML part written to ${options.html}\n`);
      }),
    );

  withApiOptions(
    templates
      .command('apply [dir]')
      .description('store the folder (default ONRAMP_TEMPLATES_DIR) as the next templates version, which emails are then sent from; refused whole on any problem')
      .requiredOption('--author <author>', 'who makes the change')
      .requiredOption('--reason <reason>', 'why'),
  ).action((dir: string | undefined, options: ApiOptions & { author: string; reason: string }) =>
    runConfigAction(() => {
      const config = loadConfig();
      const folder = folderOf(config, dir);
      return putTemplates(config, options, { files: readTemplateFolder(folder), author: options.author, reason: options.reason }, folder);
    }),
  );

  withApiOptions(
    templates.command('diff [dir]').description('unified diff of the folder (default ONRAMP_TEMPLATES_DIR) against the templates version in force, file by file'),
  ).action((dir: string | undefined, options: ApiOptions) =>
    runConfigAction(async () => {
      const config = loadConfig();
      const folder = folderOf(config, dir);
      const current = await configApi(config, options)('GET', '/v1/templates');
      if (current.status !== 200) throw failure(current.status, current.body);
      const { version } = current.body as { version: number | null };
      if (version === null) throw new CliFailure('no templates version is stored yet (start-up stores the folder as version 1)', 1);
      const running = await getVersion(config, options, version);
      const diff = diffTemplateFiles({ label: `${templatesLabel(version)} (in force)`, files: running.files }, { label: folder, files: readTemplateFolder(folder) });
      out(diff === '' ? `${folder} is identical to the templates version in force (${version})` : diff);
      const problems = new EmailTemplates(folder).problems();
      if (problems.length > 0) err(`note: ${folder} has problems, apply would reject it:\n${problems.map((p) => `  ${formatTemplateProblem(p)}`).join('\n')}`);
    }),
  );

  withApiOptions(
    templates
      .command('rollback')
      .argument('<version>', 'the templates version whose files to apply again', positiveInt('<version>'))
      .description("apply an earlier templates version's files again, as the next version (checked as any change)")
      .requiredOption('--author <author>', 'who rolls back')
      .requiredOption('--reason <reason>', 'why (stored as "rollback to v<version>: <reason>")'),
  ).action((version: number, options: ApiOptions & { author: string; reason: string }) =>
    runConfigAction(async () => {
      const config = loadConfig();
      const { files } = await getVersion(config, options, version);
      return putTemplates(config, options, { files, author: options.author, reason: `rollback to v${version}: ${options.reason}` }, templatesLabel(version));
    }),
  );

  withApiOptions(
    templates.command('history').description('every templates version, newest first').option('--diff', 'print each version’s diff').option('--json', 'print the raw JSON'),
  ).action((options: ApiOptions & { diff?: boolean; json?: boolean }) =>
    runConfigAction(async () => {
      const result = await configApi(loadConfig(), options)('GET', '/v1/templates/history');
      if (result.status !== 200) throw failure(result.status, result.body);
      printHistory((result.body as { versions: VersionBody[] }).versions, options);
    }),
  );
}
