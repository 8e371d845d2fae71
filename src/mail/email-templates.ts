import Handlebars from 'handlebars';
import { z } from 'zod';
import { configFormat } from '../rules/config-file.ts';
import { layoutHtml, layoutText } from './email-layout.ts';
import { EMAIL_CATEGORY_ID } from '../events/profile-fields.ts';
import { DEFAULT_EMAIL_SETTINGS, emailSettingsFormat, layoutStringsFor, type EmailSettings } from './email-settings.ts';
import { folderSource, type TemplateSource } from './template-files.ts';
import { templateSourceProblems } from './template-variables.ts';

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
  /** The preference category it belongs to (a developer may have opted out of it). */
  category: string;
  /** The locale of the version rendered: the developer's, its language's, or the default. */
  locale: string;
}

/** The template cannot be sent as it stands (absent, unreadable, invalid): retrying will not help. */
export class TemplateNotSendable extends Error {}

const TEMPLATE_NAME = /^[a-z0-9][a-z0-9-]*$/;
const PARTS = ['subject', 'text', 'html'] as const;
type Part = (typeof PARTS)[number];

const templateMeta = z.strictObject({
  category: z.string().regex(EMAIL_CATEGORY_ID, 'must be lower_snake_case, e.g. error_help').optional().describe("one of email.yaml's categories; default: its first"),
  preheader: z.string().min(1).max(200).optional().describe('the line the inbox shows after the subject (Handlebars)'),
  cta: z
    .strictObject({
      label: z.string().min(1).max(60).describe('the button, e.g. "Open the quickstart" (Handlebars)'),
      url: z.string().min(1).max(2048).describe('where it leads, e.g. "{{docsUrl}}/quickstart" (Handlebars)'),
    })
    .optional(),
  layout: z.enum(['brand', 'none']).default('brand').describe('`none`: html.hbs is the whole document and text.hbs the whole text part'),
});
type TemplateMeta = z.output<typeof templateMeta>;

/** `<template>/template.yaml` (schemas/template.schema.json). */
export const templateMetaFormat = configFormat({
  label: 'template',
  title: 'Onramp nudge template',
  schema: templateMeta,
  namedLists: {},
  emptyFileMessage: 'the file is empty: delete it',
});

/** A problem with a template folder, for `onramp templates validate` and the rules' checks. */
export interface TemplateProblem {
  /** Relative to the templates folder: `first-call-help/fr/html.hbs`. */
  file: string;
  message: string;
  line?: number;
  column?: number;
}

export const formatTemplateProblem = (p: TemplateProblem) => `${p.file}${p.line === undefined ? '' : `:${p.line}${p.column === undefined ? '' : `:${p.column}`}`}: ${p.message}`;

interface Version {
  locale: string;
  compiled: Record<Part, HandlebarsTemplateDelegate>;
  meta: TemplateMeta;
  cta: { label: HandlebarsTemplateDelegate; url: HandlebarsTemplateDelegate } | null;
  preheader: HandlebarsTemplateDelegate | null;
}

/**
 * Nudge templates a growth team edits, in `ONRAMP_TEMPLATES_DIR` (templates/README.md): one folder
 * per template with `subject.hbs`, `text.hbs`, `html.hbs` (Handlebars; HTML-escaped in html.hbs
 * only) and an optional `template.yaml` (category, preheader, call to action); translations in
 * `<locale>/` subfolders; `email.yaml` beside them holds the brand. Read from the folder (a path:
 * read on use, so the checks see an edit at once) or from a stored version's files (what is sent,
 * template-store.ts); compiled once per distinct source.
 */
export class EmailTemplates {
  private readonly cache = new Map<string, { key: string; value: unknown }>();
  private readonly source: TemplateSource;

  constructor(source: string | TemplateSource) {
    this.source = typeof source === 'string' ? folderSource(source) : source;
  }

  /** Where the templates are read from, in messages: the folder, or `templates v3`. */
  get label(): string {
    return this.source.label;
  }

  /** The templates there now: each folder with a valid name and all three parts (what `render` can find). */
  names(): Set<string> {
    return new Set(this.folders().filter((name) => this.hasParts(name)));
  }

  /** The email settings in force: `email.yaml`, or the defaults without one. Invalid: throws with every error. */
  settings(): EmailSettings {
    const source = this.source.read('email.yaml');
    if (source === undefined) return DEFAULT_EMAIL_SETTINGS;
    return this.cached(`settings`, source, () => {
      const parsed = emailSettingsFormat.parse(source);
      if (!parsed.ok) throw new TemplateNotSendable(`email.yaml: ${parsed.errors.map(emailSettingsFormat.formatError).join('; ')}`);
      return parsed.document;
    });
  }

  /** The locales a template is translated into, besides the default. */
  locales(name: string): string[] {
    return this.source.folders(name).filter((locale) => this.hasParts(`${name}/${locale}`));
  }

  /**
   * Renders a template for one developer: the version in their locale (`pt-BR`, else `pt`, else
   * the default), placed in the brand's layout with its call to action and the footer.
   */
  async render(
    name: string,
    context: Record<string, unknown> & { unsubscribeUrl: string; preferencesUrl: string },
    locale?: string | null,
    feedback: { yes: string; no: string } | null = null,
  ): Promise<RenderedEmail> {
    const settings = this.settings();
    const version = this.version(name, locale, settings.defaultLocale);
    const category = version.meta.category ?? Object.keys(settings.categories)[0]!;
    if (!(category in settings.categories)) throw new TemplateNotSendable(`template "${name}" names category "${category}", which email.yaml does not have`);
    const full = { ...context, product: settings.brand.productName };
    const subject = version.compiled.subject(full).trim();
    const body = version.compiled.html(full);
    const text = version.compiled.text(full);
    if (version.meta.layout === 'none') return { subject, text, html: body, category, locale: version.locale };
    const slots = {
      subject,
      body,
      preheader: version.preheader?.(full).trim() ?? '',
      cta: version.cta ? { label: version.cta.label(full).trim(), url: version.cta.url(full).trim() } : null,
      product: settings.brand.productName,
      postalAddress: settings.brand.postalAddress ?? null,
      strings: layoutStringsFor(settings, version.locale),
      unsubscribeUrl: context.unsubscribeUrl,
      preferencesUrl: context.preferencesUrl,
      feedback,
    };
    return { subject, text: layoutText(text, slots), html: await layoutHtml(settings.brand, version.locale, slots), category, locale: version.locale };
  }

  /** Everything wrong with the folder's templates (all, or the named ones) and its email.yaml; empty when all can be sent. */
  problems(names?: Iterable<string>): TemplateProblem[] {
    if (!this.source.exists()) return [{ file: '.', message: `no templates folder at ${this.source.label}` }];
    const problems: TemplateProblem[] = [];
    let settings = DEFAULT_EMAIL_SETTINGS;
    const settingsSource = this.source.read('email.yaml');
    if (settingsSource !== undefined) {
      const parsed = emailSettingsFormat.parse(settingsSource);
      if (parsed.ok) settings = parsed.document;
      else problems.push(...parsed.errors.map((e) => ({ file: 'email.yaml', message: e.path ? `${e.path}: ${e.message}` : e.message, line: e.line, column: e.column })));
    }
    for (const name of names ?? this.folders()) {
      if (!TEMPLATE_NAME.test(name) || !this.folders().includes(name)) {
        problems.push({ file: name, message: 'no such template' });
        continue;
      }
      for (const locale of [null, ...this.source.folders(name)]) {
        const dir = locale === null ? name : `${name}/${locale}`;
        if (locale !== null && !isLocaleTag(locale)) {
          problems.push({ file: dir, message: 'a translation folder must be named by a BCP 47 language tag, e.g. fr or pt-BR' });
          continue;
        }
        for (const part of PARTS) {
          const file = `${dir}/${part}.hbs`;
          const text = this.source.read(file);
          if (text === undefined) problems.push({ file, message: 'missing' });
          else problems.push(...templateSourceProblems(text).map((p) => ({ file, ...p })));
        }
        const metaSource = this.source.read(`${dir}/template.yaml`);
        if (metaSource === undefined) continue;
        const meta = templateMetaFormat.parse(metaSource);
        if (!meta.ok) {
          problems.push(...meta.errors.map((e) => ({ file: `${dir}/template.yaml`, message: e.path ? `${e.path}: ${e.message}` : e.message, line: e.line, column: e.column })));
          continue;
        }
        if (meta.document.category && !(meta.document.category in settings.categories))
          problems.push({
            file: `${dir}/template.yaml`,
            message: `category "${meta.document.category}" is not in email.yaml (categories: ${Object.keys(settings.categories).join(', ')})`,
          });
        for (const [field, source] of [
          ['preheader', meta.document.preheader],
          ['cta.label', meta.document.cta?.label],
          ['cta.url', meta.document.cta?.url],
        ] as const) {
          if (source) problems.push(...templateSourceProblems(source).map((p) => ({ file: `${dir}/template.yaml`, message: `${field}: ${p.message}` })));
        }
      }
    }
    return problems;
  }

  private version(name: string, locale: string | null | undefined, defaultLocale: string): Version {
    if (!TEMPLATE_NAME.test(name)) throw new TemplateNotSendable(`invalid template name "${name}"`);
    const root = name;
    if (!this.hasParts(root)) throw new TemplateNotSendable(`no template "${name}" in ${this.source.label} (it needs ${PARTS.map((p) => `${p}.hbs`).join(', ')})`);
    const rootMeta = this.meta(root, name);
    for (const candidate of localeCandidates(locale)) {
      const folder = `${root}/${candidate}`;
      if (candidate !== defaultLocale && this.hasParts(folder)) return this.compile(folder, candidate, { ...rootMeta, ...this.meta(folder, `${name}/${candidate}`) });
    }
    return this.compile(root, defaultLocale, rootMeta);
  }

  private meta(folder: string, label: string): Partial<TemplateMeta> {
    const file = `${folder}/template.yaml`;
    const source = this.source.read(file);
    if (source === undefined) return {};
    return this.cached(`meta:${file}`, source, () => {
      const parsed = templateMetaFormat.parse(source);
      if (!parsed.ok) throw new TemplateNotSendable(`${label}/template.yaml: ${parsed.errors.map(templateMetaFormat.formatError).join('; ')}`);
      return parsed.document;
    });
  }

  private compile(folder: string, locale: string, partial: Partial<TemplateMeta>): Version {
    const meta = templateMeta.parse(partial);
    const sources = Object.fromEntries(PARTS.map((part) => [part, this.source.read(`${folder}/${part}.hbs`) ?? ''])) as Record<Part, string>;
    return this.cached(`version:${folder}`, JSON.stringify([sources, meta, locale]), () => ({
      locale,
      meta,
      compiled: {
        subject: Handlebars.compile(sources.subject, { noEscape: true }),
        text: Handlebars.compile(sources.text, { noEscape: true }),
        html: Handlebars.compile(sources.html),
      },
      cta: meta.cta ? { label: Handlebars.compile(meta.cta.label, { noEscape: true }), url: Handlebars.compile(meta.cta.url, { noEscape: true }) } : null,
      preheader: meta.preheader ? Handlebars.compile(meta.preheader, { noEscape: true }) : null,
    }));
  }

  /** `make` runs again only when `key` (the sources) changed since the last call for `slot`. */
  private cached<T>(slot: string, key: string, make: () => T): T {
    const hit = this.cache.get(slot);
    if (hit?.key === key) return hit.value as T;
    const value = make();
    this.cache.set(slot, { key, value });
    return value;
  }

  private folders(): string[] {
    return this.source.folders('').filter((name) => TEMPLATE_NAME.test(name));
  }

  /** `folder` relative to the templates: `first-call-help`, `first-call-help/fr`. */
  private hasParts(folder: string): boolean {
    return PARTS.every((part) => this.source.read(`${folder}/${part}.hbs`) !== undefined);
  }
}

function isLocaleTag(value: string): boolean {
  try {
    return Intl.getCanonicalLocales(value)[0] === value;
  } catch {
    return false;
  }
}

/** `pt-BR` → [`pt-BR`, `pt`]: the developer's locale, then its language. */
function localeCandidates(locale: string | null | undefined): string[] {
  if (!locale) return [];
  const language = locale.split('-')[0]!;
  return language === locale ? [locale] : [locale, language];
}
