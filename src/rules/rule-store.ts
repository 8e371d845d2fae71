import { readFileSync } from 'node:fs';
import { createTwoFilesPatch } from 'diff';
import type pg from 'pg';
import { withTransaction, type Sql } from '../db/sql.ts';
import { formatRulesError, parseRulesSource, type RulesFileError } from './rules-file.ts';
import type { ActiveRules, RulesDocument } from './rules-schema.ts';

/**
 * Nudge-rule versions in PostgreSQL (`rule_versions`): every change is a new version, numbered
 * one past the last, with who made it, why, and the unified diff of its YAML against the previous
 * version's. The newest version is the running one. Versions are never updated or deleted.
 */

export interface RuleVersion extends ActiveRules {
  author: string;
  reason: string;
  createdAt: Date;
  /** The YAML as submitted (comments and all). */
  source: string;
  /** Unified diff of `source` against the previous version's (version 1: against nothing). */
  diff: string;
}

export type RuleVersionSummary = Pick<RuleVersion, 'version' | 'author' | 'reason' | 'createdAt' | 'diff'>;

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
export type ApplyResult = { ok: true; created: boolean; version: RuleVersion } | { ok: false; errors: RulesFileError[] };

export class NoRulesError extends Error {
  constructor() {
    super('no rules version stored yet (the rules file is applied as version 1 at start-up)');
  }
}

interface Row {
  version: number;
  document: RulesDocument;
  source: string;
  author: string;
  reason: string;
  diff: string;
  created_at: Date;
}

const COLUMNS = 'version, document, source, author, reason, diff, created_at';

function toVersion(row: Row): RuleVersion {
  return { version: row.version, document: row.document, source: row.source, author: row.author, reason: row.reason, diff: row.diff, createdAt: row.created_at };
}

/** Unified diff between two versions' sources (`v3` → `v4`). */
export function diffSources(from: { label: string; source: string }, to: { label: string; source: string }): string {
  return createTwoFilesPatch(from.label, to.label, from.source, to.source, undefined, undefined, { context: 3 });
}

export class RuleStore {
  constructor(private readonly pool: pg.Pool) {}

  /** The running version; throws `NoRulesError` before the first one is stored. */
  async current(): Promise<RuleVersion> {
    const { rows } = await this.pool.query<Row>(LATEST);
    if (!rows[0]) throw new NoRulesError();
    return toVersion(rows[0]);
  }

  /** The running version as the engine needs it (no source, no diff), or undefined before the first. */
  async active(): Promise<ActiveRules | undefined> {
    const { rows } = await this.pool.query<Pick<Row, 'version' | 'document'>>('SELECT version, document FROM rule_versions ORDER BY version DESC LIMIT 1');
    return rows[0] ? { version: rows[0].version, document: rows[0].document } : undefined;
  }

  async get(version: number): Promise<RuleVersion | undefined> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM rule_versions WHERE version = $1`, [version]);
    return rows[0] ? toVersion(rows[0]) : undefined;
  }

  /** Every version, newest first, without the documents. */
  async history(): Promise<RuleVersionSummary[]> {
    const { rows } = await this.pool.query<Row>('SELECT version, author, reason, diff, created_at FROM rule_versions ORDER BY version DESC');
    return rows.map((row) => ({ version: row.version, author: row.author, reason: row.reason, diff: row.diff, createdAt: row.created_at }));
  }

  /**
   * Validates `source` and stores it as the next version. An invalid source is rejected whole and
   * the running version stays. Concurrent applies are serialised by a table lock taken in the
   * transaction, so each gets its own version number and diffs against the one before it.
   */
  async apply(request: ApplyRequest): Promise<ApplyResult> {
    const parsed = parseRulesSource(request.source);
    if (!parsed.ok) return parsed;
    return this.locked(async (sql) => {
      const [previous] = await sql<Row>(LATEST);
      if (previous && previous.source === request.source) return { ok: true, created: false, version: toVersion(previous) };
      return { ok: true, created: true, version: await insertNext(sql, previous, parsed.document, request) };
    });
  }

  /**
   * Applies the rules file as version 1 (author "onramp") when no version exists; otherwise
   * changes nothing. Safe when several processes start together (the same lock as `apply`).
   * Throws when the table is empty and the file is unreadable or invalid.
   */
  async ensureInitialVersion(filePath: string): Promise<RuleVersion> {
    const existing = await this.pool.query<Row>(LATEST);
    if (existing.rows[0]) return toVersion(existing.rows[0]);
    const source = readFileSync(filePath, 'utf8');
    const parsed = parseRulesSource(source);
    if (!parsed.ok) {
      throw new Error(`${filePath} is not a valid rules file:\n${parsed.errors.map((e) => `  ${formatRulesError(e)}`).join('\n')}`);
    }
    return this.locked(async (sql) => {
      const [latest] = await sql<Row>(LATEST);
      if (latest) return toVersion(latest); // another process got there first
      return insertNext(sql, undefined, parsed.document, { source, author: 'onramp', reason: `initial rules from ${filePath}` });
    });
  }

  /** A transaction holding the table's write lock (readers are not blocked). */
  private locked<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, async (sql) => {
      // SHARE ROW EXCLUSIVE conflicts with itself and with writes, not with plain SELECTs.
      await sql('LOCK TABLE rule_versions IN SHARE ROW EXCLUSIVE MODE');
      return work(sql);
    });
  }
}

const LATEST = `SELECT ${COLUMNS} FROM rule_versions ORDER BY version DESC LIMIT 1`;

/** Stores `source` as the version after `previous`, with its diff against it (under the lock). */
async function insertNext(sql: Sql, previous: Row | undefined, document: RulesDocument, request: ApplyRequest): Promise<RuleVersion> {
  const version = (previous?.version ?? 0) + 1;
  const diff = diffSources(
    { label: previous ? `rules v${previous.version}` : 'rules (none)', source: previous?.source ?? '' },
    { label: `rules v${version}`, source: request.source },
  );
  const [inserted] = await sql<Row>(
    `INSERT INTO rule_versions (version, document, source, author, reason, diff) VALUES ($1, $2::jsonb, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    version, JSON.stringify(document), request.source, request.author, request.reason, diff,
  );
  return toVersion(inserted!);
}
