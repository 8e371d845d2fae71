import type { FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { SilentAfter } from '../config.ts';
import { sourceEventLateness } from '../metrics/process-metrics.ts';
import { bucketOf, emptyBuckets, summarize, type LatenessBuckets, type LatenessSummary } from './event-lateness.ts';

/** The ingest routes, each a source in GET /v1/sources; `middleware` is `POST /v1/events` from the @onramp/node package (its `X-Onramp-Source` header). */
export const SOURCES = ['events', 'import', 'segment', 'kong', 'aws-firehose', 'clerk', 'auth0', 'ses', 'sendgrid', 'middleware'] as const;
export type SourceName = (typeof SOURCES)[number];

export interface SourceStat {
  source: string;
  lastReceivedAt: string | null;
  accepted: number;
  duplicates: number;
  rejected: number;
  lastError: { message: string; at: string } | null;
  /** Never received a request: neither silent nor receiving. */
  unused: boolean;
  /** Received requests, then none for longer than its threshold (ONRAMP_SOURCE_SILENT_AFTER). */
  silent: boolean;
  silentForSeconds: number | null;
  silentAfterSeconds: number | null;
  lateness: { lateByDesign: boolean; lastHour: LatenessSummary; last24Hours: LatenessSummary };
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

/** A pending lateness window: a source's events stored in one 5-minute window. */
interface PendingLateness {
  source: SourceName;
  windowStart: Date;
  buckets: LatenessBuckets;
  maxSeconds: number;
}

/** How long counts wait in memory before they are added to `source_stats`. */
const FLUSH_MS = 1_000;
/** The lateness windows (source_lateness rows): 5 minutes, kept two days. */
const WINDOW_MS = 5 * 60_000;
const KEPT_MS = 2 * 86_400_000;
const HOUR_MS = 3_600_000;
/** `import` replays the past: late by design, and silent only when ONRAMP_SOURCE_SILENT_AFTER names it. */
const BACKFILL: SourceName = 'import';

export interface SourceStatsOptions {
  /** The clock: when requests arrive, and how long ago (tests move it instead of waiting). */
  now?: () => Date;
  silentAfter?: SilentAfter;
}

/**
 * What each source received, and how late its events were: noted per request in its onResponse
 * hook (after the answer, outside the batch's transaction), added up in memory and flushed as one
 * upsert per source (and lateness window) a second, so that ingest pays no statement per request
 * and concurrent requests share no hot row. The counts are a report, not a ledger: a crash loses
 * at most a second of counts, never an event. Each process adds its own; a read flushes this
 * process's first.
 */
export class SourceStats {
  /** A request's stored outcome, noted by its handler (refused requests have none). */
  private readonly outcomes = new WeakMap<FastifyRequest, { accepted: number; duplicates: number; occurredAt: readonly string[] }>();
  /** A refused request's first error message, read from its answer, and when it was answered. */
  private readonly errors = new WeakMap<FastifyRequest, { message: string; at: Date }>();
  private pending = new Map<SourceName, Pending>();
  private pendingLateness = new Map<string, PendingLateness>();
  private prunedBefore = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The flush writing now (settled when none is): the next waits for it, so a read after a flush sees every count noted before it. */
  private inFlight: Promise<void> = Promise.resolve();
  private readonly now: () => Date;
  private readonly silentAfter: SilentAfter;

  constructor(
    private readonly pool: pg.Pool,
    { now = () => new Date(), silentAfter = { default: HOUR_MS, bySource: {} } }: SourceStatsOptions = {},
  ) {
    const unknown = Object.keys(silentAfter.bySource).filter((name) => !(SOURCES as readonly string[]).includes(name));
    if (unknown.length > 0) throw new Error(`ONRAMP_SOURCE_SILENT_AFTER: no source named ${unknown.join(', ')} (the sources: ${SOURCES.join(', ')})`);
    this.now = now;
    this.silentAfter = silentAfter;
  }

  /** The time by this instance's clock (the backlog's age is judged by it too). */
  clock(): Date {
    return this.now();
  }

  /** A stored request's outcome, and when its events occurred (how late they arrived is noted with its counts). */
  note(request: FastifyRequest, outcome: { accepted: number; duplicates: number }, occurredAt: readonly string[]): void {
    this.outcomes.set(request, { ...outcome, occurredAt });
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
        const name = sourceOf(request);
        this.record(name, {
          accepted: outcome?.accepted ?? 0,
          duplicates: outcome?.duplicates ?? 0,
          rejected: error ? messagesIn(request.body) : 0,
          error: error && { message: `${reply.statusCode} ${error.message}`.trim(), at: error.at },
        });
        if (outcome && !error) this.recordLateness(name, outcome.occurredAt);
      },
    };
  }

  /** Adds a request's counts to the next flush (the latest error wins). */
  record(
    source: SourceName,
    { accepted, duplicates, rejected, error }: { accepted: number; duplicates: number; rejected: number; error?: { message: string; at: Date } | undefined },
  ): void {
    const counts = this.pending.get(source) ?? { receivedAt: new Date(0), accepted: 0, duplicates: 0, rejected: 0 };
    counts.receivedAt = this.now();
    counts.accepted += accepted;
    counts.duplicates += duplicates;
    counts.rejected += rejected;
    if (error && (!counts.error || error.at >= counts.error.at)) counts.error = error;
    this.pending.set(source, counts);
    this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), FLUSH_MS).unref();
  }

  /**
   * How late a stored request's events arrived: now − occurredAt, each event of the request (a
   * redelivery arrives late again), to this process's Prometheus histogram and the source's current
   * 5-minute window.
   */
  recordLateness(source: SourceName, occurredAt: readonly string[]): void {
    if (occurredAt.length === 0) return;
    const now = this.now().getTime();
    const windowStart = now - (now % WINDOW_MS);
    const key = `${source} ${windowStart}`;
    const window = this.pendingLateness.get(key) ?? { source, windowStart: new Date(windowStart), buckets: emptyBuckets(), maxSeconds: 0 };
    for (const at of occurredAt) {
      const seconds = Math.max(0, (now - Date.parse(at)) / 1000);
      sourceEventLateness.observe({ source }, seconds);
      window.buckets[bucketOf(seconds)]! += 1;
      window.maxSeconds = Math.max(window.maxSeconds, seconds);
    }
    this.pendingLateness.set(key, window);
    this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), FLUSH_MS).unref();
  }

  /**
   * Adds the counts noted since the last flush, one upsert per source, after the flush already
   * writing (the timer's, say) is done: otherwise a read would find its counts half written.
   * Upserts of two processes may commit in either order: the stored last error is the latest by
   * time, whichever comes second.
   */
  flush(): Promise<void> {
    const run = this.inFlight.then(() => this.write());
    this.inFlight = run.catch(() => undefined);
    return run;
  }

  private async write(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const flushing = this.pending;
    const windows = this.pendingLateness;
    this.pending = new Map();
    this.pendingLateness = new Map();
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
    for (const w of windows.values()) {
      await this.pool.query(
        `INSERT INTO source_lateness AS l (source, window_start, buckets, max_seconds) VALUES ($1, $2, $3::bigint[], $4)
         ON CONFLICT (source, window_start) DO UPDATE SET max_seconds = greatest(l.max_seconds, excluded.max_seconds),
           buckets = ARRAY(SELECT a + b FROM unnest(l.buckets, excluded.buckets) WITH ORDINALITY AS t(a, b, i) ORDER BY i)`,
        [w.source, w.windowStart, w.buckets, w.maxSeconds],
      );
    }
    // Once a window: the windows older than two days go.
    const keptFrom = this.now().getTime() - KEPT_MS;
    if (windows.size > 0 && keptFrom - this.prunedBefore >= WINDOW_MS) {
      await this.pool.query('DELETE FROM source_lateness WHERE window_start < $1', [new Date(keptFrom)]);
      this.prunedBefore = keptFrom;
    }
  }

  /**
   * Every source, those that received nothing yet too (this process's counts flushed first): its
   * counts, whether it went silent, and how late its events arrived in the last hour and 24 hours.
   */
  async list(): Promise<SourceStat[]> {
    await this.flush();
    const now = this.now().getTime();
    const { rows } = await this.pool.query<Row>('SELECT * FROM source_stats');
    const bySource = new Map(rows.map((r) => [r.source, r]));
    const lateness = await this.lateness(now);
    return SOURCES.map((source) => {
      const r = bySource.get(source);
      const silentAfter = this.silentAfter.bySource[source] ?? (source === BACKFILL ? undefined : this.silentAfter.default);
      const quietMs = r ? Math.max(0, now - r.last_received_at.getTime()) : null;
      const silent = quietMs !== null && silentAfter !== undefined && quietMs > silentAfter;
      const windows = lateness.get(source);
      return {
        source,
        lastReceivedAt: r?.last_received_at.toISOString() ?? null,
        accepted: Number(r?.accepted ?? 0),
        duplicates: Number(r?.duplicates ?? 0),
        rejected: Number(r?.rejected ?? 0),
        lastError: r?.last_error && r.last_error_at ? { message: r.last_error, at: r.last_error_at.toISOString() } : null,
        unused: r === undefined,
        silent,
        silentForSeconds: silent ? Math.floor(quietMs! / 1000) : null,
        silentAfterSeconds: silentAfter === undefined ? null : silentAfter / 1000,
        lateness: {
          lateByDesign: source === BACKFILL,
          lastHour: summarize(windows?.lastHour.buckets ?? emptyBuckets(), windows?.lastHour.maxSeconds ?? null),
          last24Hours: summarize(windows?.last24Hours.buckets ?? emptyBuckets(), windows?.last24Hours.maxSeconds ?? null),
        },
      };
    });
  }

  /** Per source, the lateness windows of the last hour and of the last 24 hours, added up in SQL (a few rows per source). */
  private async lateness(now: number): Promise<Map<string, Record<'lastHour' | 'last24Hours', { buckets: LatenessBuckets; maxSeconds: number | null }>>> {
    const { rows } = await this.pool.query<{ source: string; recent: boolean; i: string; n: string; max_seconds: number }>(
      `SELECT source, window_start > $1 AS recent, i, sum(n) AS n, max(max_seconds) AS max_seconds
       FROM source_lateness, unnest(buckets) WITH ORDINALITY AS u(n, i) WHERE window_start > $2 GROUP BY source, recent, i`,
      [new Date(now - HOUR_MS), new Date(now - 24 * HOUR_MS)],
    );
    const found = new Map<string, Record<'lastHour' | 'last24Hours', { buckets: LatenessBuckets; maxSeconds: number | null }>>();
    for (const r of rows) {
      const windows = found.get(r.source) ?? { lastHour: { buckets: emptyBuckets(), maxSeconds: null }, last24Hours: { buckets: emptyBuckets(), maxSeconds: null } };
      for (const w of r.recent ? [windows.lastHour, windows.last24Hours] : [windows.last24Hours]) {
        w.buckets[Number(r.i) - 1]! += Number(r.n);
        w.maxSeconds = Math.max(w.maxSeconds ?? 0, r.max_seconds);
      }
      found.set(r.source, windows);
    }
    return found;
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
