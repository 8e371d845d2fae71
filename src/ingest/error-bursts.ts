import { LRUCache } from 'lru-cache';
import type { Sql } from '../db/sql.ts';
import type { ErrorBurstEvent } from '../journey/journey-event.ts';
import type { NudgePolicy } from '../rules/rules-schema.ts';
import { durationMs, nudgePolicy } from '../rules/rules-schema.ts';
import type { AttributedRequest } from './request-aggregates.ts';

export type BurstThresholds = NudgePolicy['errorBursts'];

/** The schema's defaults: before the first rules version, or when no rules are read. */
export const DEFAULT_BURST_THRESHOLDS: BurstThresholds = nudgePolicy.parse({}).errorBursts;

const KIND_OF_STATUS: Record<number, ErrorBurstEvent['kind']> = { 401: 'unauthorized_burst', 400: 'bad_request_burst', 429: 'rate_limited_burst' };

export interface DetectedBurst {
  developerId: string;
  event: ErrorBurstEvent;
}

/** What a batch taught the detector, applied once the batch has committed. */
export interface BurstLessons {
  firstAt: Map<string, number>;
  recorded: string[];
}

const key = (developerId: string, kind: string) => `${developerId}\u0000${kind}`;

/**
 * Seed 000's first-session diagnoses, on the ingest side: a burst of 401s, 400s concentrated on
 * one endpoint, or 429s within the first session (from the developer's first request) becomes one
 * row in error_bursts and one journey signal, never a signal per request.
 *
 * Memory keeps steady traffic cheap: bursts already recorded, and each developer's first request
 * time (an upper bound, since late events only move it earlier: an error later than the cached
 * session end is outside the true one too).
 */
export class ErrorBurstDetector {
  private readonly recorded = new LRUCache<string, true>({ max: 200_000 });
  private readonly firstAt = new LRUCache<string, number>({ max: 100_000 });

  /** Developers whose errors in this batch could complete a burst not yet recorded. */
  candidates(requests: AttributedRequest[], thresholds: BurstThresholds): string[] {
    const session = durationMs(thresholds.firstSession);
    const developers = new Set<string>();
    for (const r of requests) {
      const kind = KIND_OF_STATUS[r.status];
      if (!kind || this.recorded.has(key(r.developerId, kind))) continue;
      const first = this.firstAt.get(r.developerId);
      if (first !== undefined && Date.parse(r.occurredAt) >= first + session) continue;
      developers.add(r.developerId);
    }
    return [...developers];
  }

  /**
   * Counts the candidates' first-session errors (this batch's are stored already, and the caller
   * holds the developers' locks, so concurrent batches are counted together) and records the
   * bursts that crossed their threshold.
   */
  async detect(sql: Sql, developerIds: string[], thresholds: BurstThresholds, lessons: BurstLessons): Promise<DetectedBurst[]> {
    if (developerIds.length === 0) return [];
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
      const top = group.reduce((a, b) => (b.n > a.n || (b.n === a.n && b.endpoint < a.endpoint) ? b : a));
      const crossed =
        kind === 'unauthorized_burst' ? count >= thresholds.unauthorized.minCount
        : kind === 'rate_limited_burst' ? count >= thresholds.rateLimited.minCount
        : count >= thresholds.badRequest.minCount && top.n / count >= thresholds.badRequest.minShareOnOneEndpoint;
      if (!crossed) continue;
      found.push({
        developerId,
        event: { id: `burst:${developerId}:${kind}`, type: 'api.error_burst', kind, occurredAt: lastAt, status, count, ...(kind === 'bad_request_burst' ? { endpoint: top.endpoint } : {}) },
      });
    }
    if (found.length === 0) return [];
    const inserted = await sql<{ developer_id: string; kind: string }>(
      `INSERT INTO error_bursts (developer_id, kind, status, count, endpoint, occurred_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::text[], $6::timestamptz[])
       ON CONFLICT (developer_id, kind) DO NOTHING
       RETURNING developer_id, kind`,
      found.map((b) => b.developerId), found.map((b) => b.event.kind), found.map((b) => b.event.status), found.map((b) => b.event.count),
      found.map((b) => b.event.endpoint ?? null), found.map((b) => b.event.occurredAt),
    );
    lessons.recorded.push(...found.map((b) => key(b.developerId, b.event.kind)));
    const fresh = new Set(inserted.map((r) => key(r.developer_id, r.kind)));
    return found.filter((b) => fresh.has(key(b.developerId, b.event.kind)));
  }

  /** After commit. */
  learn(lessons: BurstLessons): void {
    for (const [developerId, first] of lessons.firstAt) {
      const cached = this.firstAt.get(developerId);
      if (cached === undefined || first < cached) this.firstAt.set(developerId, first);
    }
    for (const k of lessons.recorded) this.recorded.set(k, true);
  }
}
