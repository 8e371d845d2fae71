import { readFileSync } from 'node:fs';
import { createTwoFilesPatch } from 'diff';
import type pg from 'pg';
import { recordAudit, type AuditAction } from '../audit/audit-log.ts';
import { withTransaction, type Sql, type Statement } from '../db/sql.ts';
import type { z } from 'zod';
import type { ConfigFileError, ConfigFileResult, ConfigFormat, NamedConfigFileError } from './config-file.ts';

/**
 * Versions of a config document in a PostgreSQL table (`rule_versions`,
 * `escalation_policy_versions`, `funnel_versions`, `alert_versions`, with the same columns): every change is a new
 * version, numbered one past the last, with who made it, why, and the unified diff of its YAML
 * against the previous version's. The newest version is the running one. Versions are never
 * updated or deleted.
 */

/** The versioned config tables, in the order every change locks them: one order, no deadlock. */
export const CONFIG_TABLES = { rules: 'rule_versions', escalationPolicy: 'escalation_policy_versions', funnel: 'funnel_versions', alerts: 'alert_versions' } as const;
export type ConfigTable = (typeof CONFIG_TABLES)[keyof typeof CONFIG_TABLES];

/** The templates' versions (src/mail/template-store.ts): locked with the config tables, since the rules are checked against them and they against the rules. */
export const TEMPLATE_VERSIONS_TABLE = 'template_versions';

/**
 * A transaction holding the write lock of every config table: changes to the documents are
 * serialised, so a change checked against the others in force (the rules' stages against the
 * funnel's) sees them as they stay until it commits. Plain reads are not blocked.
 */
export function withConfigLock<T>(pool: pg.Pool, work: (sql: Sql) => Promise<T>): Promise<T> {
  return withTransaction(pool, async (sql) => {
    // One statement locks the tables one by one in the order listed. SHARE ROW EXCLUSIVE conflicts
    // with itself and with writes, not with plain SELECTs.
    await sql(`LOCK TABLE ${[...Object.values(CONFIG_TABLES), TEMPLATE_VERSIONS_TABLE].join(', ')} IN SHARE ROW EXCLUSIVE MODE`);
    return work(sql);
  });
}

/** The newest version of a config table as `sql` reads it (no version yet: undefined). */
export async function documentInForce<D>(sql: Sql, table: ConfigTable): Promise<{ version: number; document: D; source: string } | undefined> {
  const [row] = await sql<{ version: number; document: D; source: string }>(`SELECT version, document, source FROM ${table} ORDER BY version DESC LIMIT 1`);
  return row;
}

/** A stored version, `D` being the validated document. */
export interface ConfigVersion<D> {
  version: number;
  document: D;
  author: string;
  reason: string;
  createdAt: Date;
  /** The YAML as submitted (comments and all). */
  source: string;
  /** Unified diff of `source` against the previous version's (version 1: against nothing). */
  diff: string;
}

export type ConfigVersionSummary = Pick<ConfigVersion<unknown>, 'version' | 'author' | 'reason' | 'createdAt' | 'diff'>;

export interface ApplyRequest {
  source: string;
  author: string;
  reason: string;
}

/**
 * `created: false` when the source is byte-for-byte the running version's: nothing is stored and
 * the running version is returned (so re-applying a file is harmless). A different source with the
 * same meaning (a comment changed) is a new version: the source is what is audited.
 */
export type ApplyResult<D, E = ConfigFileError> = { ok: true; created: boolean; version: ConfigVersion<D> } | { ok: false; errors: E[] };

/** A valid source and its document, before it is stored. */
export interface ConfigCandidate<D> {
  source: string;
  document: D;
}

/** What a store keeps: which table, and the file format that validates a source. */
export interface VersionedConfigKind<S extends z.ZodType, Named extends string> {
  /** The table (columns as `rule_versions`), one of CONFIG_TABLES. */
  table: ConfigTable;
  /** Its `label` (`rules`, `escalation policy`) names versions in diffs, messages and the initial version's reason. */
  format: ConfigFormat<S, Named>;
  /** The audit trail's action for a new version. */
  auditAction: Extract<AuditAction, `${string}.applied`>;
  /** What `current()` throws before the first version; default a `NoConfigVersionError`. */
  noVersion?: () => NoConfigVersionError;
  /**
   * Why a valid document is refused given the other documents in force, read with `sql` (inside
   * the config lock when applying): the rules name a stage the funnel lacks. None: never refused.
   */
  refuse?: (candidate: ConfigCandidate<z.output<S>>, sql: Sql) => Promise<NamedConfigFileError<Named>[]>;
  /** One line per refusal, in start-up's message (they may be in another document than this one); default the format's. */
  formatRefusal?: (error: NamedConfigFileError<Named>) => string;
}

/** `current()` before the first version is stored. */
export class NoConfigVersionError extends Error {
  constructor(label: string) {
    super(`no ${label} version stored yet (the ${label} file is applied as version 1 at start-up)`);
  }
}

interface Row<D> {
  version: number;
  document: D;
  source: string;
  author: string;
  reason: string;
  diff: string;
  created_at: Date;
}

const COLUMNS = 'version, document, source, author, reason, diff, created_at';

function toVersion<D>(row: Row<D>): ConfigVersion<D> {
  return { version: row.version, document: row.document, source: row.source, author: row.author, reason: row.reason, diff: row.diff, createdAt: row.created_at };
}

/** Unified diff between two versions' sources (`v3` → `v4`). */
export function diffSources(from: { label: string; source: string }, to: { label: string; source: string }): string {
  return createTwoFilesPatch(from.label, to.label, from.source, to.source, undefined, undefined, { context: 3 });
}

/** `S`: the document's zod schema; `Named`: the keys its errors name items by (`rule`, `stall`). */
export class VersionedConfigStore<S extends z.ZodType, Named extends string = never> {
  private readonly latest: string;

  constructor(
    private readonly pool: pg.Pool,
    readonly kind: VersionedConfigKind<S, Named>,
  ) {
    this.latest = `SELECT ${COLUMNS} FROM ${kind.table} ORDER BY version DESC LIMIT 1`;
  }

  /** The running version; throws a `NoConfigVersionError` before the first one is stored. */
  async current(): Promise<ConfigVersion<z.output<S>>> {
    const { rows } = await this.pool.query<Row<z.output<S>>>(this.latest);
    if (!rows[0]) throw this.kind.noVersion?.() ?? new NoConfigVersionError(this.kind.format.label);
    return toVersion(rows[0]);
  }

  /** The running version as the engine needs it (no source, no diff), or undefined before the first. */
  async active(): Promise<{ version: number; document: z.output<S> } | undefined> {
    const { rows } = await this.pool.query<Pick<Row<z.output<S>>, 'version' | 'document'>>(`SELECT version, document FROM ${this.kind.table} ORDER BY version DESC LIMIT 1`);
    return rows[0] ? { version: rows[0].version, document: rows[0].document } : undefined;
  }

  async get(version: number): Promise<ConfigVersion<z.output<S>> | undefined> {
    const { rows } = await this.pool.query<Row<z.output<S>>>(`SELECT ${COLUMNS} FROM ${this.kind.table} WHERE version = $1`, [version]);
    return rows[0] ? toVersion(rows[0]) : undefined;
  }

  /** Every version, newest first, without the documents. */
  async history(): Promise<ConfigVersionSummary[]> {
    const { rows } = await this.pool.query<Row<z.output<S>>>(`SELECT version, author, reason, diff, created_at FROM ${this.kind.table} ORDER BY version DESC`);
    return rows.map((row) => ({ version: row.version, author: row.author, reason: row.reason, diff: row.diff, createdAt: row.created_at }));
  }

  /** What applying `source` now would answer, storing nothing: its errors, else its document. */
  async validate(source: string): Promise<ConfigFileResult<z.output<S>, NamedConfigFileError<Named>>> {
    const parsed = this.kind.format.parse(source);
    if (!parsed.ok) return parsed;
    const sql: Sql = async <T>(statement: Statement, ...params: unknown[]) => (await this.pool.query(statement, params)).rows as T[];
    const errors = (await this.kind.refuse?.({ source, document: parsed.document }, sql)) ?? [];
    return errors.length > 0 ? { ok: false, errors } : parsed;
  }

  /**
   * Validates `source` and stores it as the next version. An invalid or refused source is rejected
   * whole and the running version stays. Concurrent changes are serialised by the config lock
   * (withConfigLock), so each gets its own version number, diffs against the one before it, and is
   * checked against the other documents as they are when it commits.
   */
  async apply(request: ApplyRequest): Promise<ApplyResult<z.output<S>, NamedConfigFileError<Named>>> {
    const parsed = this.kind.format.parse(request.source);
    if (!parsed.ok) return parsed;
    return withConfigLock(this.pool, async (sql) => {
      const [previous] = await sql<Row<z.output<S>>>(this.latest);
      if (previous && previous.source === request.source) return { ok: true, created: false, version: toVersion(previous) };
      const errors = (await this.kind.refuse?.({ source: request.source, document: parsed.document }, sql)) ?? [];
      if (errors.length > 0) return { ok: false, errors };
      return { ok: true, created: true, version: await this.insertNext(sql, previous, parsed.document, request) };
    });
  }

  /**
   * Stores a valid document as the next version in the caller's transaction, which holds the config
   * lock and has checked it against the other documents (several documents changed together); a
   * source identical to the running version's stores nothing.
   */
  async storeLocked(sql: Sql, request: ApplyRequest, document: z.output<S>): Promise<{ created: boolean; version: ConfigVersion<z.output<S>> }> {
    const [previous] = await sql<Row<z.output<S>>>(this.latest);
    if (previous && previous.source === request.source) return { created: false, version: toVersion(previous) };
    return { created: true, version: await this.insertNext(sql, previous, document, request) };
  }

  /**
   * Applies the file as version 1 (author "onramp") when no version exists; otherwise changes
   * nothing. Safe when several processes start together (the same lock as `apply`). Throws when
   * the table is empty and the file is unreadable, invalid or refused.
   */
  async ensureInitialVersion(filePath: string, reason = `initial ${this.kind.format.label} from ${filePath}`): Promise<ConfigVersion<z.output<S>>> {
    const existing = await this.pool.query<Row<z.output<S>>>(this.latest);
    if (existing.rows[0]) return toVersion(existing.rows[0]);
    const source = readFileSync(filePath, 'utf8');
    const parsed = this.kind.format.parse(source);
    const invalid = (errors: NamedConfigFileError<Named>[], what: string, format = this.kind.format.formatError) =>
      new Error(`${filePath} ${what}:\n${errors.map((e) => `  ${format(e)}`).join('\n')}`);
    if (!parsed.ok) throw invalid(parsed.errors, `is not a valid ${this.kind.format.label} file`);
    return withConfigLock(this.pool, async (sql) => {
      const [latest] = await sql<Row<z.output<S>>>(this.latest);
      if (latest) return toVersion(latest); // another process got there first
      const errors = (await this.kind.refuse?.({ source, document: parsed.document }, sql)) ?? [];
      if (errors.length > 0) throw invalid(errors, 'does not fit the documents in force', this.kind.formatRefusal);
      return this.insertNext(sql, undefined, parsed.document, { source, author: 'onramp', reason });
    });
  }

  /** Stores `source` as the version after `previous`, with its diff against it (under the lock). */
  private async insertNext(sql: Sql, previous: Row<z.output<S>> | undefined, document: z.output<S>, request: ApplyRequest): Promise<ConfigVersion<z.output<S>>> {
    const {
      table,
      format: { label },
    } = this.kind;
    const version = (previous?.version ?? 0) + 1;
    const diff = diffSources(
      { label: previous ? `${label} v${previous.version}` : `${label} (none)`, source: previous?.source ?? '' },
      { label: `${label} v${version}`, source: request.source },
    );
    const [inserted] = await sql<Row<z.output<S>>>(
      `INSERT INTO ${table} (version, document, source, author, reason, diff) VALUES ($1, $2::jsonb, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      version,
      JSON.stringify(document),
      request.source,
      request.author,
      request.reason,
      diff,
    );
    await recordAudit(sql, { actor: request.author, action: this.kind.auditAction, subject: `${label} v${version}`, reason: request.reason, diff });
    return toVersion(inserted!);
  }
}
