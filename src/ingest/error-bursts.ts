import { LRUCache } from 'lru-cache';
import type { Sql } from '../db/sql.ts';
import type { ErrorBurstEvent } from '../journey/journey-event.ts';
import type { NudgePolicy } from '../rules/rules-schema.ts';
import { durationMs, nudgePolicy } from '../rules/rules-schema.ts';
import type { AttributedRequest } from './request-aggregates.ts';

export type BurstThresholds = NudgePolicy['errorBursts'];

/** The schema's defaults: before the first rules version, or when no rules are read. */
export const DEFAULT_BURST_THRESHOLDS: BurstThresholds = nudgePolicy.parse({}).errorBursts;

type BurstKind = ErrorBurstEvent['kind'];

const KIND_OF_STATUS: Record<number, BurstKind> = { 401: 'unauthorized_burst', 400: 'bad_request_burst', 429: 'rate_limited_burst' };
const KINDS = Object.values(KIND_OF_STATUS);

/**
 * How long "no burst of this kind is stored for this developer" (read under the developer's lock)
 * is trusted. Within this process a burst candidate forgets it at once; the time bounds how long a
 * burst recorded by another API process can go unnoticed (the errors are stored meanwhile, and the
 * next check after it counts them).
 */
const ABSENT_TTL_MS = 60_000;

export interface DetectedBurst {
  developerId: string;
  event: ErrorBurstEvent;
}

/** Developers whose errors in a batch could complete a burst not yet recorded (lock them all). */
export interface BurstCandidates {
  /** A first-session burst. */
  first: string[];
  /** A continued burst: errors after a recorded burst, within `continuedWithin` of it. */
  continued: string[];
}

/** What a batch taught the detector, applied once the batch has committed. */
export interface BurstLessons {
  firstAt: Map<string, number>;
  /** First bursts stored (key → their occurred_at, epoch ms). */
  recorded: Map<string, number>;
  /** Continued bursts stored. */
  continued: string[];
  /** Read under the lock with no burst stored. */
  absent: string[];
}

export function newBurstLessons(): BurstLessons {
  return { firstAt: new Map(), recorded: new Map(), continued: [], absent: [] };
}

const key = (developerId: string, kind: string) => `${developerId}\u0000${kind}`;

function minCount(kind: BurstKind, thresholds: BurstThresholds): number {
  return kind === 'unauthorized_burst' ? thresholds.unauthorized.minCount : kind === 'rate_limited_burst' ? thresholds.rateLimited.minCount : thresholds.badRequest.minCount;
}

/** The endpoint with the most errors (ties: the smaller name). */
function topOf<R extends { endpoint: string; n: number }>(group: R[]): R {
  return group.reduce((a, b) => (b.n > a.n || (b.n === a.n && b.endpoint < a.endpoint) ? b : a));
}

/**
 * The first-session diagnoses (docs/concepts/funnel.md#first-session-error-diagnoses), on the ingest side: a burst of 401s, 400s concentrated on
 * one endpoint, or 429s within the first session (from the developer's first request) becomes one
 * row in error_bursts and one journey signal, never a signal per request.
 *
 * Errors that continue after a burst (as many again of its status, on any endpoint, after the
 * burst's occurred_at and within `continuedWithin` of it) become one more row (`continued`) and
 * one more signal, `burst:<developer>:<kind>:continued`: the escalation policy's "errors go on
 * after their nudge".
 *
 * Memory keeps steady traffic cheap: bursts recorded (with their time, so errors outside the
 * continuation window read nothing) and continued bursts recorded, both final; each developer's
 * first request time (an upper bound, since late events only move it earlier: an error later than
 * the cached session end is outside the true one too, and one later than the session end plus
 * `continuedWithin` cannot continue a burst dated in that session); and, for a minute, kinds read
 * with no burst stored, so that the errors of developers without a burst read nothing after their
 * first session. That absence is the one piece of memory that can go stale (a burst recorded by a
 * concurrent batch or another process meanwhile): errors it lets pass unchecked are stored, and the
 * next check of that developer and kind counts them, so a continuation may be signalled one error
 * late, never twice.
 */
export class ErrorBurstDetector {
  private readonly recorded = new LRUCache<string, number>({ max: 200_000 });
  private readonly continued = new LRUCache<string, true>({ max: 200_000 });
  private readonly absent = new LRUCache<string, true>({ max: 300_000, ttl: ABSENT_TTL_MS });
  private readonly firstAt = new LRUCache<string, number>({ max: 100_000 });

  /** Developers whose errors in this batch could complete a burst, first or continued, not yet recorded. */
  candidates(requests: AttributedRequest[], thresholds: BurstThresholds): BurstCandidates {
    const session = durationMs(thresholds.firstSession);
    const within = durationMs(thresholds.continuedWithin);
    const first = new Set<string>();
    const continued = new Set<string>();
    for (const r of requests) {
      const kind = KIND_OF_STATUS[r.status];
      if (!kind) continue;
      const k = key(r.developerId, kind);
      if (this.continued.has(k)) continue;
      const at = Date.parse(r.occurredAt);
      const burstAt = this.recorded.get(k);
      if (burstAt !== undefined) {
        if (at > burstAt && at < burstAt + within) continued.add(r.developerId);
        continue;
      }
      const firstAt = this.firstAt.get(r.developerId);
      if (firstAt === undefined || at < firstAt + session) {
        // This batch may record the burst (and then checks its continuation itself).
        this.absent.delete(k);
        first.add(r.developerId);
      } else if (at < firstAt + session + within && !this.absent.has(k)) {
        continued.add(r.developerId);
      }
    }
    return { first: [...first], continued: [...continued] };
  }

  /**
   * Counts the candidates' errors (this batch's are stored already, and the caller holds the
   * developers' locks, so concurrent batches are counted together) and records the bursts that
   * crossed their threshold: first-session ones, then continued ones (a burst recorded by this
   * batch included). Returns those this batch recorded, one signal each.
   */
  async detect(sql: Sql, candidates: BurstCandidates, thresholds: BurstThresholds, lessons: BurstLessons): Promise<DetectedBurst[]> {
    const { fresh, crossed } = await this.detectFirst(sql, candidates.first, thresholds, lessons);
    const continued = await this.detectContinued(sql, [...new Set([...candidates.continued, ...crossed])], thresholds, lessons);
    return [...fresh, ...continued];
  }

  private async detectFirst(sql: Sql, developerIds: string[], thresholds: BurstThresholds, lessons: BurstLessons): Promise<{ fresh: DetectedBurst[]; crossed: string[] }> {
    if (developerIds.length === 0) return { fresh: [], crossed: [] };
    const session = durationMs(thresholds.firstSession);
    // One row per developer even without errors in the session: its first request time is learnt.
    const rows = await sql<{ developer_id: string; first_at: Date; status: number | null; endpoint: string; n: number; last_at: Date }>(
      `WITH first AS (
         SELECT developer_id, min(first_at) AS first_at FROM developer_endpoints
         WHERE developer_id = ANY($1::text[]) GROUP BY developer_id)
       SELECT f.developer_id, f.first_at, e.status, e.endpoint, count(*)::int AS n, max(e.occurred_at) AS last_at
       FROM first f LEFT JOIN events e ON e.developer_id = f.developer_id
        AND e.occurred_at >= f.first_at AND e.occurred_at < f.first_at + $2 * interval '1 millisecond'
        AND e.type = 'api.request' AND e.status IN (400, 401, 429)
       GROUP BY f.developer_id, f.first_at, e.status, e.endpoint`,
      developerIds,
      session,
    );
    const byDeveloperStatus = new Map<string, typeof rows>();
    for (const row of rows) {
      lessons.firstAt.set(row.developer_id, row.first_at.getTime());
      if (row.status === null) continue;
      const k = `${row.developer_id}\u0000${row.status}`;
      const group = byDeveloperStatus.get(k);
      if (group) group.push(row);
      else byDeveloperStatus.set(k, [row]);
    }
    const found: DetectedBurst[] = [];
    for (const group of byDeveloperStatus.values()) {
      const { developer_id: developerId } = group[0]!;
      const status = group[0]!.status!;
      const kind = KIND_OF_STATUS[status]!;
      const count = group.reduce((sum, r) => sum + r.n, 0);
      const lastAt = new Date(Math.max(...group.map((r) => r.last_at.getTime()))).toISOString();
      const top = topOf(group);
      const crossed = count >= minCount(kind, thresholds) && (kind !== 'bad_request_burst' || top.n / count >= thresholds.badRequest.minShareOnOneEndpoint);
      if (!crossed) continue;
      found.push({
        developerId,
        event: {
          id: `burst:${developerId}:${kind}`,
          type: 'api.error_burst',
          kind,
          occurredAt: lastAt,
          status,
          count,
          ...(kind === 'bad_request_burst' ? { endpoint: top.endpoint } : {}),
        },
      });
    }
    const crossed = [...new Set(found.map((b) => b.developerId))];
    return { fresh: await insertBursts(sql, found, false), crossed };
  }

  /**
   * Continuations of the developers' stored bursts (read here, so that a burst recorded by another
   * batch or process counts, with its stored time): errors of the burst's status after it and within
   * `continuedWithin` of it.
   */
  private async detectContinued(sql: Sql, developerIds: string[], thresholds: BurstThresholds, lessons: BurstLessons): Promise<DetectedBurst[]> {
    if (developerIds.length === 0) return [];
    const within = durationMs(thresholds.continuedWithin);
    // One row per stored burst even without errors after it: its time is learnt.
    const rows = await sql<{ developer_id: string; kind: BurstKind; status: number; burst_at: Date; done: boolean; endpoint: string | null; n: number; last_at: Date | null }>(
      `WITH b AS (
         SELECT developer_id, kind, min(status) AS status, min(occurred_at) FILTER (WHERE NOT continued) AS burst_at, bool_or(continued) AS done
         FROM error_bursts WHERE developer_id = ANY($1::text[]) GROUP BY developer_id, kind)
       SELECT b.developer_id, b.kind, b.status, b.burst_at, b.done, e.endpoint, count(e.id)::int AS n, max(e.occurred_at) AS last_at
       FROM b LEFT JOIN events e ON NOT b.done AND e.developer_id = b.developer_id
        AND e.occurred_at > b.burst_at AND e.occurred_at < b.burst_at + $2 * interval '1 millisecond'
        AND e.type = 'api.request' AND e.status = b.status
       WHERE b.burst_at IS NOT NULL
       GROUP BY b.developer_id, b.kind, b.status, b.burst_at, b.done, e.endpoint`,
      developerIds,
      within,
    );
    const byBurst = new Map<string, typeof rows>();
    for (const row of rows) {
      const k = key(row.developer_id, row.kind);
      lessons.recorded.set(k, row.burst_at.getTime());
      if (row.done) lessons.continued.push(k);
      else if (row.n > 0) {
        const group = byBurst.get(k);
        if (group) group.push(row);
        else byBurst.set(k, [row]);
      }
    }
    for (const developerId of developerIds) {
      for (const kind of KINDS) if (!lessons.recorded.has(key(developerId, kind))) lessons.absent.push(key(developerId, kind));
    }
    const found: DetectedBurst[] = [];
    for (const [k, group] of byBurst) {
      const { developer_id: developerId, kind, status } = group[0]!;
      const count = group.reduce((sum, r) => sum + r.n, 0);
      if (count < minCount(kind, thresholds)) continue;
      const lastAt = new Date(Math.max(...group.map((r) => r.last_at!.getTime()))).toISOString();
      const top = topOf(group.map((r) => ({ endpoint: r.endpoint ?? '', n: r.n })));
      lessons.continued.push(k);
      found.push({
        developerId,
        event: {
          id: `burst:${developerId}:${kind}:continued`,
          type: 'api.error_burst',
          kind,
          continued: true,
          occurredAt: lastAt,
          status,
          count,
          ...(kind === 'bad_request_burst' ? { endpoint: top.endpoint } : {}),
        },
      });
    }
    return insertBursts(sql, found, true);
  }

  /** After commit. */
  learn(lessons: BurstLessons): void {
    for (const [developerId, first] of lessons.firstAt) {
      const cached = this.firstAt.get(developerId);
      if (cached === undefined || first < cached) this.firstAt.set(developerId, first);
    }
    for (const [k, at] of lessons.recorded) {
      this.recorded.set(k, at);
      this.absent.delete(k);
    }
    for (const k of lessons.continued) this.continued.set(k, true);
    for (const k of lessons.absent) if (!this.recorded.has(k)) this.absent.set(k, true);
  }
}

/** Stores the bursts; only those this call inserted (not already stored) are returned, to be signalled. */
async function insertBursts(sql: Sql, found: DetectedBurst[], continued: boolean): Promise<DetectedBurst[]> {
  if (found.length === 0) return [];
  const inserted = await sql<{ developer_id: string; kind: string }>(
    `INSERT INTO error_bursts (developer_id, kind, continued, status, count, endpoint, occurred_at)
     SELECT d, k, $7::boolean, s, n, e, t FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::text[], $6::timestamptz[]) AS u(d, k, s, n, e, t)
     ON CONFLICT (developer_id, kind, continued) DO NOTHING
     RETURNING developer_id, kind`,
    found.map((b) => b.developerId),
    found.map((b) => b.event.kind),
    found.map((b) => b.event.status),
    found.map((b) => b.event.count),
    found.map((b) => b.event.endpoint ?? null),
    found.map((b) => b.event.occurredAt),
    continued,
  );
  const fresh = new Set(inserted.map((r) => key(r.developer_id, r.kind)));
  return found.filter((b) => fresh.has(key(b.developerId, b.event.kind)));
}
