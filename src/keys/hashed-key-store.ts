import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { recordAudit, type AuditAction } from '../audit/audit-log.ts';
import { withTransaction } from '../db/sql.ts';

/**
 * Keys created and revoked through the admin API (ingest keys per source, agent keys per person).
 * Only the SHA-256 of a key is stored (a key is 32 random bytes: a fast hash is enough, there is
 * nothing to guess), so a copy of the database gives no key away. Every change is an audit row,
 * written in the same transaction.
 */

/** One kind of stored key: its table, the column saying what it is for, its prefix, its audit actions. */
export interface KeyKind<Label extends string> {
  table: 'ingest_keys' | 'agent_keys';
  /** An ingest key's `source`, an agent key's `name`. */
  label: Label;
  /** Starts the id (`ik`, `ak`), and so the key (`onr_ik_…`): a leaked key says what it is. */
  prefix: 'ik' | 'ak';
  audit: { created: AuditAction; revoked: AuditAction };
}

export type StoredKeyInfo<Label extends string> = {
  id: string;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  revokedBy: string | null;
} & { [K in Label]: string };

/** What a live key presented is: its id and label (an agent key's name). */
export interface LiveKey {
  id: string;
  label: string;
}

export const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

interface Row {
  id: string;
  label: string;
  created_at: Date;
  created_by: string;
  revoked_at: Date | null;
  revoked_by: string | null;
}

export class HashedKeyStore<Label extends string> {
  /** Digest → the live key (undefined: none), and until when that answer may be reused. */
  private readonly cache = new Map<string, { found: LiveKey | undefined; until: number }>();
  private readonly columns: string;

  constructor(
    private readonly pool: pg.Pool,
    private readonly kind: KeyKind<Label>,
    /** How long an answer is reused: a revocation reaches each API process within this. */
    private readonly cacheMs = 5_000,
  ) {
    this.columns = `id, ${kind.label} AS label, created_at, created_by, revoked_at, revoked_by`;
  }

  private toInfo(r: Row): StoredKeyInfo<Label> {
    return {
      id: r.id,
      [this.kind.label]: r.label,
      createdAt: r.created_at.toISOString(),
      createdBy: r.created_by,
      revokedAt: r.revoked_at?.toISOString() ?? null,
      revokedBy: r.revoked_by,
    } as StoredKeyInfo<Label>;
  }

  /** The key is returned here once and never stored. */
  async create(request: { [K in Label]: string } & { author: string; reason?: string | undefined }): Promise<StoredKeyInfo<Label> & { key: string }> {
    const { table, label, prefix, audit } = this.kind;
    const id = `${prefix}_${randomBytes(6).toString('hex')}`;
    const key = `onr_${id}_${randomBytes(32).toString('base64url')}`;
    const value: string = request[label];
    return withTransaction(this.pool, async (sql) => {
      const [row] = await sql<Row>(
        `INSERT INTO ${table} (id, ${label}, hash, created_by) VALUES ($1, $2, $3, $4) RETURNING ${this.columns}`,
        id,
        value,
        sha256Hex(key),
        request.author,
      );
      await recordAudit(sql, { actor: request.author, action: audit.created, subject: id, reason: request.reason ?? null, detail: { [label]: value } });
      return { ...this.toInfo(row!), key };
    });
  }

  async list(): Promise<StoredKeyInfo<Label>[]> {
    const { rows } = await this.pool.query<Row>(`SELECT ${this.columns} FROM ${this.kind.table} ORDER BY created_at, id`);
    return rows.map((r) => this.toInfo(r));
  }

  /** Undefined for an unknown id; a key already revoked stays as it was (no second audit row). */
  async revoke(id: string, request: { author: string; reason?: string | undefined }): Promise<{ key: StoredKeyInfo<Label>; changed: boolean } | undefined> {
    const { table, label, audit } = this.kind;
    return withTransaction(this.pool, async (sql) => {
      const [row] = await sql<Row>(`SELECT ${this.columns} FROM ${table} WHERE id = $1 FOR UPDATE`, id);
      if (!row) return undefined;
      if (row.revoked_at) return { key: this.toInfo(row), changed: false };
      const [revoked] = await sql<Row>(`UPDATE ${table} SET revoked_at = now(), revoked_by = $2 WHERE id = $1 RETURNING ${this.columns}`, id, request.author);
      await recordAudit(sql, { actor: request.author, action: audit.revoked, subject: id, reason: request.reason ?? null, detail: { [label]: row.label } });
      this.cache.clear();
      return { key: this.toInfo(revoked!), changed: true };
    });
  }

  /** The live stored key a presented key is (by its digest), cached for `cacheMs`. */
  readonly find = async (digestHex: string): Promise<LiveKey | undefined> => {
    const now = Date.now();
    const cached = this.cache.get(digestHex);
    if (cached && cached.until > now) return cached.found;
    const { rows } = await this.pool.query<LiveKey>(`SELECT id, ${this.kind.label} AS label FROM ${this.kind.table} WHERE hash = $1 AND revoked_at IS NULL`, [digestHex]);
    // Bounded: a flood of random tokens cannot grow it without limit.
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(digestHex, { found: rows[0], until: now + this.cacheMs });
    return rows[0];
  };

  /** Whether a presented key is a live stored one (see find). */
  readonly isLive = async (digestHex: string): Promise<boolean> => (await this.find(digestHex)) !== undefined;
}
