import type { FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';

/** The ingest routes, each a source in GET /v1/sources. */
export const SOURCES = ['events', 'import', 'segment'] as const;
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

/**
 * What each source received: one upsert per request, in the request's onResponse hook — after the
 * answer is sent and outside the batch's transaction, so the hot path gains no lock and no round
 * trip (the counts are a report, not a ledger: a crash between commit and upsert loses one
 * request's counts, never an event).
 */
export class SourceStats {
  /** A request's stored outcome, noted by its handler (refused requests have none). */
  private readonly outcomes = new WeakMap<FastifyRequest, { accepted: number; duplicates: number }>();
  /** A refused request's first error message, read from its answer, and when it was answered. */
  private readonly errors = new WeakMap<FastifyRequest, { message: string; at: Date }>();

  constructor(private readonly pool: pg.Pool) {}

  note(request: FastifyRequest, outcome: { accepted: number; duplicates: number }): void {
    this.outcomes.set(request, outcome);
  }

  /** The route hooks that count a source's requests. */
  hooks(source: SourceName) {
    return {
      onSend: async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
        if (reply.statusCode >= 400) this.errors.set(request, { message: typeof payload === 'string' ? firstErrorMessage(payload) : '', at: new Date() });
        return payload;
      },
      onResponse: async (request: FastifyRequest, reply: FastifyReply) => {
        const outcome = this.outcomes.get(request);
        const error = this.errors.get(request);
        try {
          await this.record(source, {
            accepted: outcome?.accepted ?? 0,
            duplicates: outcome?.duplicates ?? 0,
            rejected: error ? messagesIn(request.body) : 0,
            error: error && { message: `${reply.statusCode} ${error.message}`.trim(), at: error.at },
          });
        } catch (error) {
          request.log.warn({ err: error, source }, 'source counts not recorded');
        }
      },
    };
  }

  /**
   * Adds a request's counts. Upserts of requests answered close together may commit in either
   * order: the last error is the one answered last, whichever upsert comes second.
   */
  async record(
    source: SourceName,
    { accepted, duplicates, rejected, error }: { accepted: number; duplicates: number; rejected: number; error?: { message: string; at: Date } | undefined },
  ): Promise<void> {
    await this.pool.query(
      `INSERT INTO source_stats AS s (source, last_received_at, accepted, duplicates, rejected, last_error, last_error_at)
       VALUES ($1, now(), $2, $3, $4, $5::text, $6::timestamptz)
       ON CONFLICT (source) DO UPDATE SET last_received_at = greatest(s.last_received_at, now()),
         accepted = s.accepted + $2, duplicates = s.duplicates + $3, rejected = s.rejected + $4,
         last_error = CASE WHEN $6::timestamptz >= coalesce(s.last_error_at, $6::timestamptz) THEN $5::text ELSE s.last_error END,
         last_error_at = greatest(s.last_error_at, $6::timestamptz)`,
      [source, accepted, duplicates, rejected, error?.message ?? null, error?.at ?? null],
    );
  }

  /** Every source, those that received nothing yet too. */
  async list(): Promise<SourceStat[]> {
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

/** The events or messages of a refused request (`events`, Segment's `batch`), 1 for a single one or an unread body. */
function messagesIn(body: unknown): number {
  const list = (body as { events?: unknown; batch?: unknown } | null | undefined) ?? {};
  const items = Array.isArray(list.events) ? list.events : Array.isArray(list.batch) ? list.batch : undefined;
  return Math.max(items?.length ?? 1, 1);
}

function firstErrorMessage(payload: string): string {
  try {
    const [first] = (JSON.parse(payload) as { errors?: { path?: string; message?: string }[] }).errors ?? [];
    // PostgreSQL stores no U+0000, which a refused message may echo.
    return first ? `${first.path ? `${first.path}: ` : ''}${first.message ?? ''}`.replaceAll('\u0000', '').slice(0, 1000) : '';
  } catch {
    return '';
  }
}
