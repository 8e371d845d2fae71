import { readFileSync } from 'node:fs';
import { createTwoFilesPatch } from 'diff';
import type pg from 'pg';
import { recordAudit, type AuditAction } from '../audit/audit-log.ts';
import { withTransaction, type Sql } from '../db/sql.ts';
import type { z } from 'zod';
import type { ConfigFileError, ConfigFormat, NamedConfigFileError } from './config-file.ts';

/**
 * Versions of a config document in a PostgreSQL table (`rule_versions`,
 * `escalation_policy_versions`, with the same columns): every change is a new version, numbered
 * one past the last, with who made it, why, and the unified diff of its YAML against the previous
 * version's. The newest version is the running one. Versions are never updated or deleted.
 */

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

/** What a store keeps: which table, and the file format that validates a source. */
export interface VersionedConfigKind<S extends z.ZodType, Named extends string> {
  /** The table (columns as `rule_versions`). A constant, never user input. */
  table: string;
  /** Its `label` (`rules`, `escalation policy`) names versions in diffs, messages and the initial version's reason. */
  format: ConfigFormat<S, Named>;
  /** The audit trail's action for a new version. */
  auditAction: Extract<AuditAction, `${string}.applied`>;
  /** What `current()` throws before the first version; default a `NoConfigVersionError`. */
  noVersion?: () => NoConfigVersionError;
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

  /**
   * Validates `source` and stores it as the next version. An invalid source is rejected whole and
   * the running version stays. Concurrent applies are serialised by a table lock taken in the
   * transaction, so each gets its own version number and diffs against the one before it.
   */
  async apply(request: ApplyRequest): Promise<ApplyResult<z.output<S>, NamedConfigFileError<Named>>> {
    const parsed = this.kind.format.parse(request.source);
    if (!parsed.ok) return parsed;
    return this.locked(async (sql) => {
      const [previous] = await sql<Row<z.output<S>>>(this.latest);
      if (previous && previous.source === request.source) return { ok: true, created: false, version: toVersion(previous) };
      return { ok: true, created: true, version: await this.insertNext(sql, previous, parsed.document, request) };
    });
  }

  /**
   * Applies the file as version 1 (author "onramp") when no version exists; otherwise changes
   * nothing. Safe when several processes start together (the same lock as `apply`). Throws when
   * the table is empty and the file is unreadable or invalid.
   */
  async ensureInitialVersion(filePath: string): Promise<ConfigVersion<z.output<S>>> {
    const existing = await this.pool.query<Row<z.output<S>>>(this.latest);
    if (existing.rows[0]) return toVersion(existing.rows[0]);
    const source = readFileSync(filePath, 'utf8');
    const parsed = this.kind.format.parse(source);
    if (!parsed.ok) {
      throw new Error(`${filePath} is not a valid ${this.kind.format.label} file:\n${parsed.errors.map((e) => `  ${this.kind.format.formatError(e)}`).join('\n')}`);
    }
    return this.locked(async (sql) => {
      const [latest] = await sql<Row<z.output<S>>>(this.latest);
      if (latest) return toVersion(latest); // another process got there first
      return this.insertNext(sql, undefined, parsed.document, { source, author: 'onramp', reason: `initial ${this.kind.format.label} from ${filePath}` });
    });
  }

  /** A transaction holding the table's write lock (readers are not blocked). */
  private locked<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, async (sql) => {
      // SHARE ROW EXCLUSIVE conflicts with itself and with writes, not with plain SELECTs.
      await sql(`LOCK TABLE ${this.kind.table} IN SHARE ROW EXCLUSIVE MODE`);
      return work(sql);
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
