import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export class TemplateNotFound extends Error {}

const TEMPLATE_NAME = /^[a-z0-9][a-z0-9-]*$/;

type Compiled = { subject: HandlebarsTemplateDelegate; text: HandlebarsTemplateDelegate; html: HandlebarsTemplateDelegate };

/**
 * Nudge templates a growth team edits: `templates/<name>/{subject,text,html}.hbs`, Handlebars
 * (HTML-escaped in html.hbs, not in the text part). Read on first use and whenever the files
 * change, so an edit takes effect without a restart.
 */
export class EmailTemplates {
  private readonly cache = new Map<string, { sources: string; compiled: Compiled }>();

  constructor(readonly dir: string) {}

  /** The templates there now: each folder with a valid name and all three parts (what `render` can render). */
  names(): Set<string> {
    const folders = existsSync(this.dir) ? readdirSync(this.dir, { withFileTypes: true }).filter((e) => e.isDirectory()) : [];
    return new Set(folders.map((e) => e.name).filter((name) => TEMPLATE_NAME.test(name) && Object.values(this.files(name)).every((file) => existsSync(file))));
  }

  render(name: string, context: Record<string, unknown>): RenderedEmail {
    const compiled = this.load(name);
    return { subject: compiled.subject(context).trim(), text: compiled.text(context), html: compiled.html(context) };
  }

  private load(name: string): Compiled {
    if (!TEMPLATE_NAME.test(name)) throw new TemplateNotFound(`invalid template name "${name}"`);
    const files = this.files(name);
    for (const file of Object.values(files)) if (!existsSync(file)) throw new TemplateNotFound(`template "${name}" has no ${file}`);
    const sources = Object.fromEntries(Object.entries(files).map(([part, file]) => [part, readFileSync(file, 'utf8')])) as Record<keyof Compiled, string>;
    const key = JSON.stringify(sources);
    const cached = this.cache.get(name);
    if (cached?.sources === key) return cached.compiled;
    const compiled: Compiled = {
      subject: Handlebars.compile(sources.subject, { noEscape: true, strict: false }),
      text: Handlebars.compile(sources.text, { noEscape: true }),
      html: Handlebars.compile(sources.html),
    };
    this.cache.set(name, { sources: key, compiled });
    return compiled;
  }

  private files(name: string): Record<keyof Compiled, string> {
    return { subject: join(this.dir, name, 'subject.hbs'), text: join(this.dir, name, 'text.hbs'), html: join(this.dir, name, 'html.hbs') };
  }
}
