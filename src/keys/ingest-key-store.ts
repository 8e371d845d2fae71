import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { recordAudit } from '../audit/audit-log.ts';
import { withTransaction } from '../db/sql.ts';

/**
 * Ingest keys per source, created and revoked through the admin API or `onramp keys`. Only the
 * SHA-256 of a key is stored (a key is 32 random bytes: a fast hash is enough, there is nothing to
 * guess), so a copy of the database gives no key away. Every change is an audit row, written in
 * the same transaction.
 */

export interface IngestKeyInfo {
  id: string;
  source: string;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  revokedBy: string | null;
}

export const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

interface Row {
  id: string;
  source: string;
  created_at: Date;
  created_by: string;
  revoked_at: Date | null;
  revoked_by: string | null;
}

const toInfo = (r: Row): IngestKeyInfo => ({
  id: r.id,
  source: r.source,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
  revokedAt: r.revoked_at?.toISOString() ?? null,
  revokedBy: r.revoked_by,
});

export class IngestKeyStore {
  /** Digest → live, and until when that answer may be reused. */
  private readonly cache = new Map<string, { live: boolean; until: number }>();

  constructor(
    private readonly pool: pg.Pool,
    /** How long an answer is reused: a revocation reaches each API process within this. */
    private readonly cacheMs = 5_000,
  ) {}

  /** The key is returned here once and never stored. */
  async create(request: { source: string; author: string; reason?: string }): Promise<IngestKeyInfo & { key: string }> {
    const id = `ik_${randomBytes(6).toString('hex')}`;
    const key = `onr_${id}_${randomBytes(32).toString('base64url')}`;
    return withTransaction(this.pool, async (sql) => {
      const [row] = await sql<Row>(
        'INSERT INTO ingest_keys (id, source, hash, created_by) VALUES ($1, $2, $3, $4) RETURNING *',
        id,
        request.source,
        sha256Hex(key),
        request.author,
      );
      await recordAudit(sql, { actor: request.author, action: 'ingest_key.created', subject: id, reason: request.reason ?? null, detail: { source: request.source } });
      return { ...toInfo(row!), key };
    });
  }

  async list(): Promise<IngestKeyInfo[]> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM ingest_keys ORDER BY created_at, id');
    return rows.map(toInfo);
  }

  /** Undefined for an unknown id; a key already revoked stays as it was (no second audit row). */
  async revoke(id: string, request: { author: string; reason?: string }): Promise<{ key: IngestKeyInfo; changed: boolean } | undefined> {
    return withTransaction(this.pool, async (sql) => {
      const [row] = await sql<Row>('SELECT * FROM ingest_keys WHERE id = $1 FOR UPDATE', id);
      if (!row) return undefined;
      if (row.revoked_at) return { key: toInfo(row), changed: false };
      const [revoked] = await sql<Row>('UPDATE ingest_keys SET revoked_at = now(), revoked_by = $2 WHERE id = $1 RETURNING *', id, request.author);
      await recordAudit(sql, { actor: request.author, action: 'ingest_key.revoked', subject: id, reason: request.reason ?? null, detail: { source: row.source } });
      this.cache.clear();
      return { key: toInfo(revoked!), changed: true };
    });
  }

  /** Whether a presented key is a live stored one (by its digest), cached for `cacheMs`. */
  readonly isLive = async (digestHex: string): Promise<boolean> => {
    const now = Date.now();
    const cached = this.cache.get(digestHex);
    if (cached && cached.until > now) return cached.live;
    const { rows } = await this.pool.query('SELECT 1 FROM ingest_keys WHERE hash = $1 AND revoked_at IS NULL', [digestHex]);
    // Bounded: a flood of random tokens cannot grow it without limit.
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(digestHex, { live: rows.length > 0, until: now + this.cacheMs });
    return rows.length > 0;
  };
}
