import type pg from 'pg';
import { TEMPLATE_VERSIONS_TABLE } from '../rules/versioned-config-store.ts';
import type { TemplateFolder } from '../rules/rules-file.ts';
import { EmailTemplates } from './email-templates.ts';
import { filesSource, type TemplateFiles } from './template-files.ts';
import { templatesLabel } from './template-store.ts';

/** The templates emails are rendered from, and their version (null: none stored yet, the folder is read). */
export interface TemplatesInForce {
  version: number | null;
  templates: EmailTemplates;
}

/**
 * A process's one view of the templates version in force, which the send activity, the preview,
 * the brand's pages and the rules' check read. The newest version's number is looked up at most
 * once per `ttlMs` (a change reaches every process within it) and its files are read and compiled
 * once per version. Before any version is stored, the folder given is read (start-up stores it as
 * version 1 before anything is sent). Concurrent callers share one lookup; a failed one is not kept.
 */
export class TemplatesInForceCache implements TemplateFolder {
  private loaded: TemplatesInForce;
  private lookup: { at: number; value: Promise<TemplatesInForce> } | undefined;

  constructor(
    private readonly pool: pg.Pool,
    folder: string,
    private readonly ttlMs = 2_000,
  ) {
    this.loaded = { version: null, templates: new EmailTemplates(folder) };
  }

  /** The version in force, as of at most `ttlMs` ago. */
  read(): Promise<TemplatesInForce> {
    if (!this.lookup || Date.now() - this.lookup.at > this.ttlMs) {
      const value = this.load().catch((error: unknown) => {
        this.lookup = undefined;
        throw error;
      });
      this.lookup = { at: Date.now(), value };
    }
    return this.lookup.value;
  }

  /** The version in force now (after a change this process made). */
  refresh(): Promise<TemplatesInForce> {
    this.lookup = undefined;
    return this.read();
  }

  /** The templates last read, for the rules' synchronous check (refresh first). */
  names(): ReadonlySet<string> {
    return this.loaded.templates.names();
  }

  problems(names: Iterable<string>) {
    return this.loaded.templates.problems(names);
  }

  private async load(): Promise<TemplatesInForce> {
    const { rows } = await this.pool.query<{ version: number }>(`SELECT version FROM ${TEMPLATE_VERSIONS_TABLE} ORDER BY version DESC LIMIT 1`);
    const version = rows[0]?.version;
    if (version === undefined || version === this.loaded.version) return this.loaded;
    const [row] = (await this.pool.query<{ files: TemplateFiles }>(`SELECT files FROM ${TEMPLATE_VERSIONS_TABLE} WHERE version = $1`, [version])).rows;
    this.loaded = { version, templates: new EmailTemplates(filesSource(row!.files, templatesLabel(version))) };
    return this.loaded;
  }
}
