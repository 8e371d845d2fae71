import type { FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';

/** The ingest routes, each a source in GET /v1/sources; `middleware` is `POST /v1/events` from the @onramp/node package (its `X-Onramp-Source` header). */
export const SOURCES = ['events', 'import', 'segment', 'kong', 'aws-firehose', 'clerk', 'auth0', 'middleware'] as const;
export type SourceName = (typeof SOURCES)[number];

export interface SourceStat {
  source: string;
  lastReceivedAt: string | null;
  accepted: number;
  duplicates: number;
  rejected: number;
  lastError: { message: string; at: string } | null;
}

interface Row {
  source: string;
  last_received_at: Date;
  accepted: string;
  duplicates: string;
  rejected: string;
  last_error: string | null;
  last_error_at: Date | null;
}

/** A source's counts since the last flush. */
interface Pending {
  receivedAt: Date;
  accepted: number;
  duplicates: number;
  rejected: number;
  error?: { message: string; at: Date } | undefined;
}

/** How long counts wait in memory before they are added to `source_stats`. */
const FLUSH_MS = 1_000;

/**
 * What each source received: noted per request in its onResponse hook (after the answer, outside
 * the batch's transaction), added up in memory and flushed as one upsert per source a second, so
 * that ingest pays no statement per request and concurrent requests share no hot row. The counts
 * are a report, not a ledger: a crash loses at most a second of counts, never an event. Each
 * process adds its own; a read flushes this process's first.
 */
export class SourceStats {
  /** A request's stored outcome, noted by its handler (refused requests have none). */
  private readonly outcomes = new WeakMap<FastifyRequest, { accepted: number; duplicates: number }>();
  /** A refused request's first error message, read from its answer, and when it was answered. */
  private readonly errors = new WeakMap<FastifyRequest, { message: string; at: Date }>();
  private pending = new Map<SourceName, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pool: pg.Pool) {}

  note(request: FastifyRequest, outcome: { accepted: number; duplicates: number }): void {
    this.outcomes.set(request, outcome);
  }

  /** The route hooks that count a source's requests (one route may serve several: `source` then names each request's). */
  hooks(source: SourceName | ((request: FastifyRequest) => SourceName)) {
    const sourceOf = typeof source === 'function' ? source : () => source;
    return {
      onSend: async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
        if (reply.statusCode >= 400) this.errors.set(request, { message: typeof payload === 'string' ? firstErrorMessage(payload) : '', at: new Date() });
        return payload;
      },
      onResponse: async (request: FastifyRequest, reply: FastifyReply) => {
        const outcome = this.outcomes.get(request);
        const error = this.errors.get(request);
        this.record(sourceOf(request), {
          accepted: outcome?.accepted ?? 0,
          duplicates: outcome?.duplicates ?? 0,
          rejected: error ? messagesIn(request.body) : 0,
          error: error && { message: `${reply.statusCode} ${error.message}`.trim(), at: error.at },
        });
      },
    };
  }

  /** Adds a request's counts to the next flush (the latest error wins). */
  record(
    source: SourceName,
    { accepted, duplicates, rejected, error }: { accepted: number; duplicates: number; rejected: number; error?: { message: string; at: Date } | undefined },
  ): void {
    const counts = this.pending.get(source) ?? { receivedAt: new Date(0), accepted: 0, duplicates: 0, rejected: 0 };
    counts.receivedAt = new Date();
    counts.accepted += accepted;
    counts.duplicates += duplicates;
    counts.rejected += rejected;
    if (error && (!counts.error || error.at >= counts.error.at)) counts.error = error;
    this.pending.set(source, counts);
    this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), FLUSH_MS).unref();
  }

  /**
   * Adds the counts noted since the last flush, one upsert per source. Upserts of two processes may
   * commit in either order: the stored last error is the latest by time, whichever comes second.
   */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const flushing = this.pending;
    this.pending = new Map();
    for (const [source, c] of flushing) {
      await this.pool.query(
        `INSERT INTO source_stats AS s (source, last_received_at, accepted, duplicates, rejected, last_error, last_error_at)
         VALUES ($1, $2, $3, $4, $5, $6::text, $7::timestamptz)
         ON CONFLICT (source) DO UPDATE SET last_received_at = greatest(s.last_received_at, excluded.last_received_at),
           accepted = s.accepted + $3, duplicates = s.duplicates + $4, rejected = s.rejected + $5,
           last_error = CASE WHEN $7::timestamptz >= coalesce(s.last_error_at, $7::timestamptz) THEN $6::text ELSE s.last_error END,
           last_error_at = greatest(s.last_error_at, $7::timestamptz)`,
        [source, c.receivedAt, c.accepted, c.duplicates, c.rejected, c.error?.message ?? null, c.error?.at ?? null],
      );
    }
  }

  /** Every source, those that received nothing yet too (this process's counts flushed first). */
  async list(): Promise<SourceStat[]> {
    await this.flush();
    const { rows } = await this.pool.query<Row>('SELECT * FROM source_stats');
    const bySource = new Map(rows.map((r) => [r.source, r]));
    return SOURCES.map((source) => {
      const r = bySource.get(source);
      return {
        source,
        lastReceivedAt: r?.last_received_at.toISOString() ?? null,
        accepted: Number(r?.accepted ?? 0),
        duplicates: Number(r?.duplicates ?? 0),
        rejected: Number(r?.rejected ?? 0),
        lastError: r?.last_error && r.last_error_at ? { message: r.last_error, at: r.last_error_at.toISOString() } : null,
      };
    });
  }
}

/** The events or messages of a refused request (`events`, Segment's `batch`, Kong's array, Firehose's `records`), 1 for a single one or an unread body. */
function messagesIn(body: unknown): number {
  const list = (body as { events?: unknown; batch?: unknown; records?: unknown } | null | undefined) ?? {};
  const items = Array.isArray(body) ? body : [list.events, list.batch, list.records].find(Array.isArray);
  return Math.max(items?.length ?? 1, 1);
}

function firstErrorMessage(payload: string): string {
  try {
    const parsed = JSON.parse(payload) as { errors?: { path?: string; message?: string }[]; errorMessage?: string };
    // Amazon Data Firehose's error body holds its errors in one message.
    const [first] = parsed.errors ?? (parsed.errorMessage === undefined ? [] : [{ message: parsed.errorMessage }]);
    // PostgreSQL stores no U+0000, which a refused message may echo.
    return first ? `${first.path ? `${first.path}: ` : ''}${first.message ?? ''}`.replaceAll('\u0000', '').slice(0, 1000) : '';
  } catch {
    return '';
  }
}
