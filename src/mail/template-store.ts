import type pg from 'pg';
import { recordAudit } from '../audit/audit-log.ts';
import type { Sql } from '../db/sql.ts';
import { formatPath } from '../rules/config-file.ts';
import { unsendableTemplates } from '../rules/rules-file.ts';
import type { RulesDocument } from '../rules/rules-schema.ts';
import { CONFIG_TABLES, documentInForce, TEMPLATE_VERSIONS_TABLE, withConfigLock } from '../rules/versioned-config-store.ts';
import { EmailTemplates, formatTemplateProblem, type TemplateProblem } from './email-templates.ts';
import { diffTemplateFiles, filesSource, readTemplateFolder, templateFilesHash, type TemplateFiles } from './template-files.ts';

/**
 * Versions of the templates folder in PostgreSQL (`template_versions`), kept like the nudge rules'
 * (versioned-config-store.ts): every change is a new version, numbered one past the last, holding
 * the whole folder (template-files.ts) with who changed it, why, and the diff of each file against
 * the previous version; audited (`templates.applied`) in the same transaction. The newest is the
 * one emails are rendered from. Versions are never updated or deleted.
 */

export interface TemplateVersion {
  version: number;
  files: TemplateFiles;
  /** SHA-256 of the files (template-files.ts): equal snapshots, equal hashes. */
  contentHash: string;
  author: string;
  reason: string;
  /** One unified diff per file changed since the previous version (version 1: against nothing). */
  diff: string;
  createdAt: Date;
}

export type TemplateVersionSummary = Omit<TemplateVersion, 'files'>;

export interface TemplateApplyRequest {
  files: TemplateFiles;
  author: string;
  reason: string;
}

/** `created: false`: the files are the running version's, nothing stored (re-applying is harmless). */
export type TemplateApplyResult = { ok: true; created: boolean; version: TemplateVersion } | { ok: false; errors: TemplateProblem[] };

interface Row {
  version: number;
  files: TemplateFiles;
  content_hash: string;
  author: string;
  reason: string;
  diff: string;
  created_at: Date;
}

const toVersion = (row: Row): TemplateVersion => ({
  version: row.version,
  files: row.files,
  contentHash: row.content_hash,
  author: row.author,
  reason: row.reason,
  diff: row.diff,
  createdAt: row.created_at,
});

const LATEST = `SELECT * FROM ${TEMPLATE_VERSIONS_TABLE} ORDER BY version DESC LIMIT 1`;

/** `templates v3`: how a version is named in diffs, audit subjects and messages. */
export const templatesLabel = (version: number) => `templates v${version}`;

export class TemplateStore {
  constructor(private readonly pool: pg.Pool) {}

  /** The version in force, or undefined before the first (start-up stores the folder as version 1). */
  async current(): Promise<TemplateVersion | undefined> {
    const { rows } = await this.pool.query<Row>(LATEST);
    return rows[0] && toVersion(rows[0]);
  }

  async get(version: number): Promise<TemplateVersion | undefined> {
    const { rows } = await this.pool.query<Row>(`SELECT * FROM ${TEMPLATE_VERSIONS_TABLE} WHERE version = $1`, [version]);
    return rows[0] && toVersion(rows[0]);
  }

  /** Every version, newest first, without the files. */
  async history(): Promise<TemplateVersionSummary[]> {
    const { rows } = await this.pool.query<Omit<Row, 'files'>>(
      `SELECT version, content_hash, author, reason, diff, created_at FROM ${TEMPLATE_VERSIONS_TABLE} ORDER BY version DESC`,
    );
    return rows.map((row) => ({ version: row.version, contentHash: row.content_hash, author: row.author, reason: row.reason, diff: row.diff, createdAt: row.created_at }));
  }

  /**
   * Checks the files (every problem `onramp templates validate` finds, and a template the rules in
   * force send that they lack) and stores them as the next version; refused whole otherwise. Under
   * the config lock (versioned-config-store.ts): concurrent changes each get their own number and
   * diff, and the rules checked are those in force until it commits.
   */
  async apply(request: TemplateApplyRequest): Promise<TemplateApplyResult> {
    return withConfigLock(this.pool, async (sql) => {
      const [previous] = await sql<Row>(LATEST);
      if (previous?.content_hash === templateFilesHash(request.files)) return { ok: true, created: false, version: toVersion(previous) };
      const errors = await refusals(request.files, sql);
      if (errors.length > 0) return { ok: false, errors };
      return { ok: true, created: true, version: await insertNext(sql, previous, request) };
    });
  }

  /**
   * The folder as version 1 (author "onramp") when no version is stored; otherwise nothing changes,
   * as for the rules: later edits are applied (`onramp templates apply`), so editing the folder
   * alone never changes what is sent. Throws when the table is empty and the folder cannot be sent.
   */
  async ensureInitialVersion(dir: string): Promise<TemplateVersion> {
    const existing = await this.current();
    if (existing) return existing;
    const files = readTemplateFolder(dir);
    const applied = await this.apply({ files, author: 'onramp', reason: `initial templates from ${dir}` });
    if (!applied.ok) throw new Error(`${dir} cannot be sent:\n${applied.errors.map((p) => `  ${formatTemplateProblem(p)}`).join('\n')}`);
    return applied.version;
  }
}

/** Why `files` cannot be the templates in force: their own problems, then the rules in force sending a template they lack. */
async function refusals(files: TemplateFiles, sql: Sql): Promise<TemplateProblem[]> {
  const candidate = new EmailTemplates(filesSource(files, 'the templates given'));
  const problems = candidate.problems();
  if (problems.length > 0) return problems;
  if (candidate.names().size === 0) return [{ file: '.', message: 'no templates: a version needs at least one folder with subject.hbs, text.hbs and html.hbs' }];
  const rules = await documentInForce<RulesDocument>(sql, CONFIG_TABLES.rules);
  if (!rules) return [];
  return unsendableTemplates(rules.document, candidate).map((issue) => ({
    file: '.',
    message: `the rules in force (v${rules.version}) at ${formatPath(issue.path)}: ${issue.message}; change the rules first`,
  }));
}

async function insertNext(sql: Sql, previous: Row | undefined, request: TemplateApplyRequest): Promise<TemplateVersion> {
  const version = (previous?.version ?? 0) + 1;
  const diff = diffTemplateFiles(
    { label: previous ? templatesLabel(previous.version) : 'templates (none)', files: previous?.files ?? {} },
    { label: templatesLabel(version), files: request.files },
  );
  const [inserted] = await sql<Row>(
    `INSERT INTO ${TEMPLATE_VERSIONS_TABLE} (version, files, content_hash, author, reason, diff) VALUES ($1, $2::jsonb, $3, $4, $5, $6) RETURNING *`,
    version,
    JSON.stringify(request.files),
    templateFilesHash(request.files),
    request.author,
    request.reason,
    diff,
  );
  await recordAudit(sql, { actor: request.author, action: 'templates.applied', subject: templatesLabel(version), reason: request.reason, diff });
  return toVersion(inserted!);
}
