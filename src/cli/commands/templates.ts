import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { EmailTemplates, formatTemplateProblem } from '../../mail/email-templates.ts';
import { admin, withApi } from '../admin-command.ts';

/** `onramp templates …`: check the nudge templates here, and see one as a developer would get it (through the API). */

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
      else if (problems.length === 0) process.stdout.write(`ok: ${folder.names().size} templates in ${folder.dir}\n`);
      else process.stderr.write(`${problems.map((p) => `${formatTemplateProblem(p)}\n`).join('')}${problems.length} problem${problems.length === 1 ? '' : 's'} in ${folder.dir}\n`);
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
}
