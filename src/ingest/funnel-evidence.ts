import type { Sql } from '../db/sql.ts';
import { byEvidenceOrder, compileFunnel, firstToReach, type CompiledEvidence, type FunnelEvent, type Threshold } from '../funnel/evaluate-funnel.ts';
import type { FunnelVersion } from '../funnel/funnel-in-force.ts';
import { API_REQUEST } from '../funnel/funnel-schema.ts';
import type { Evidence } from '../journey/evidence.ts';
import { isEarlier } from '../journey/evidence-order.ts';
import type { AttributedRequest } from './request-aggregates.ts';
import type { EvidenceCandidate } from './stage-evidence.ts';

/** An event of a developer, as the funnel's event evidence reads it. */
export interface DevelopersEvent {
  developerId: string;
  event: FunnelEvent;
}

/** The stored evidence of a developer's stage, where known (EvidenceCache). */
export type KnownEvidence = (developerId: string, stage: string) => Evidence | undefined;

interface RequestEvidence {
  stage: string;
  evidence: Extract<CompiledEvidence, { kind: 'request' }>;
}

type ThresholdEvidence = RequestEvidence & { threshold: Threshold };

/** The requests of a batch that may complete each threshold (by the threshold: a stage may have several). */
export type ThresholdCandidates = Map<ThresholdEvidence, AttributedRequest[]>;

/**
 * The stage evidence one funnel version finds in a batch, evaluated incrementally: what
 * evaluate-funnel.ts defines over a developer's whole history (a test holds the two together),
 * computed from the new events and, for request thresholds, the stored requests around them.
 */
export class FunnelEvidence {
  readonly version: number;
  /** Stage ids in funnel order (signals carry them to the journeys). */
  readonly stages: readonly string[];
  private readonly eventEvidence = new Map<string, { stage: string; matches: (e: FunnelEvent) => boolean }[]>();
  private readonly firstRequest: RequestEvidence[] = [];
  private readonly thresholds: ThresholdEvidence[] = [];

  constructor({ version, document }: FunnelVersion) {
    this.version = version;
    this.stages = document.stages.map((stage) => stage.id);
    for (const { id: stage, evidence: list } of compileFunnel(document).stages) {
      for (const evidence of list) {
        if (evidence.kind === 'event') {
          const list = this.eventEvidence.get(evidence.type) ?? this.eventEvidence.set(evidence.type, []).get(evidence.type)!;
          list.push({ stage, matches: evidence.matches });
        } else if (evidence.threshold) this.thresholds.push({ stage, evidence, threshold: evidence.threshold });
        else this.firstRequest.push({ stage, evidence });
      }
    }
  }

  /** The stages the events (not requests) prove: each event is its own proof. */
  ofEvents(events: DevelopersEvent[]): EvidenceCandidate[] {
    return events.flatMap(({ developerId, event }) =>
      (this.eventEvidence.get(event.type) ?? [])
        .filter(({ matches }) => matches(event))
        .map(({ stage }) => ({ developerId, stage, occurredAt: event.occurredAt, eventId: event.id })),
    );
  }

  /** The first matching request of each stage without a threshold, where it could lower what is stored. */
  ofRequests(requests: AttributedRequest[], known: KnownEvidence): EvidenceCandidate[] {
    const candidates: EvidenceCandidate[] = [];
    for (const r of requests) {
      const event = asFunnelEvent(r);
      for (const { stage, evidence } of this.firstRequest) {
        if (evidence.matches(event) && couldLower(known, r, stage)) candidates.push({ developerId: r.developerId, stage, occurredAt: r.occurredAt, eventId: r.id });
      }
    }
    return candidates;
  }

  /**
   * The requests that may complete a threshold earlier than what is stored: per threshold stage,
   * the matching requests that could lower its evidence. Their developers must be locked before
   * `ofThresholds` reads (see lockDevelopers in event-ingestor.ts).
   */
  thresholdCandidates(requests: AttributedRequest[], known: KnownEvidence): ThresholdCandidates {
    // Per threshold, not per stage: a stage may be proved by several thresholds, each matching other requests.
    const byThreshold: ThresholdCandidates = new Map();
    for (const entry of this.thresholds) {
      const matching = requests.filter((r) => entry.evidence.matches(asFunnelEvent(r)) && couldLower(known, r, entry.stage));
      if (matching.length > 0) byThreshold.set(entry, matching);
    }
    return byThreshold;
  }

  /**
   * The earliest proof of each threshold that involves a candidate request (stored and aggregated
   * already). Older windows were evaluated when their requests arrived, so a window that can give
   * an earlier proof holds a new request: it lies within `windowMs` of one, and the stored
   * requests of that span are all it needs. The developer's per-endpoint totals first rule out
   * developers who cannot reach the threshold yet (one endpoint, too few requests), for no read of
   * their requests.
   */
  async ofThresholds(sql: Sql, candidates: ThresholdCandidates): Promise<EvidenceCandidate[]> {
    if (candidates.size === 0) return [];
    const developers = [...new Set([...candidates.values()].flat().map((r) => r.developerId))].sort();
    const totals = await endpointTotals(sql, developers);
    const proofs: EvidenceCandidate[] = [];
    for (const [{ stage, evidence, threshold }, matching] of candidates) {
      const requests = matching.filter((r) => mayReach(evidence, threshold, totals.get(r.developerId) ?? []));
      if (requests.length === 0) continue;
      const spans = spansOf(requests, threshold.windowMs);
      const stored = await storedRequests(sql, spans);
      for (const [developerId, events] of stored) {
        const proof = firstToReach(events.filter(evidence.matches).sort(byEvidenceOrder), threshold);
        if (proof) proofs.push({ developerId, stage, occurredAt: proof.occurredAt, eventId: proof.eventId });
      }
    }
    return proofs;
  }
}

/** Whether the request could lower the stored evidence of `stage` (or none is stored). */
function couldLower(known: KnownEvidence, r: AttributedRequest, stage: string): boolean {
  const stored = known(r.developerId, stage);
  return !stored || !isEarlier(stored, { occurredAt: r.occurredAt, eventId: r.id });
}

function asFunnelEvent(r: AttributedRequest): FunnelEvent {
  return { id: r.id, type: API_REQUEST, occurredAt: r.occurredAt, properties: { endpoint: r.endpoint, method: r.method, status: r.status, mode: r.mode } };
}

interface EndpointTotal {
  endpoint: string;
  requests: number;
  okRequests: number;
}

async function endpointTotals(sql: Sql, developerIds: string[]): Promise<Map<string, EndpointTotal[]>> {
  const rows = await sql<{ developer_id: string; endpoint: string; requests: number; ok_requests: number }>(
    { name: 'ingest-threshold-totals', text: `SELECT developer_id, endpoint, requests, ok_requests FROM developer_endpoints WHERE developer_id = ANY($1::text[])` },
    developerIds,
  );
  const totals = new Map<string, EndpointTotal[]>();
  for (const r of rows) {
    const list = totals.get(r.developer_id) ?? totals.set(r.developer_id, []).get(r.developer_id)!;
    list.push({ endpoint: r.endpoint, requests: r.requests, okRequests: r.ok_requests });
  }
  return totals;
}

/** A necessary condition from the totals: enough endpoints, or enough requests, that could match. */
function mayReach(evidence: RequestEvidence['evidence'], threshold: Threshold, totals: EndpointTotal[]): boolean {
  const counted = totals.filter((t) => evidence.endpointCounts(t.endpoint)).map((t) => (evidence.okOnly ? t.okRequests : t.requests));
  if (threshold.distinctEndpoints !== undefined && counted.filter((n) => n > 0).length < threshold.distinctEndpoints) return false;
  if (threshold.count !== undefined && counted.reduce((a, b) => a + b, 0) < threshold.count) return false;
  return true;
}

/** Per developer, the span of stored requests a window holding one of `requests` can reach. */
function spansOf(requests: AttributedRequest[], windowMs: number): { developerId: string; from: string; to: string }[] {
  const spans = new Map<string, { low: number; high: number }>();
  for (const r of requests) {
    const at = Date.parse(r.occurredAt);
    const span = spans.get(r.developerId);
    spans.set(r.developerId, { low: Math.min(span?.low ?? at, at), high: Math.max(span?.high ?? at, at) });
  }
  const instant = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : ms > 0 ? 'infinity' : '-infinity');
  return [...spans].map(([developerId, { low, high }]) => ({ developerId, from: instant(low - windowMs), to: instant(high + windowMs) }));
}

async function storedRequests(sql: Sql, spans: { developerId: string; from: string; to: string }[]): Promise<Map<string, FunnelEvent[]>> {
  const rows = await sql<{ developer_id: string; id: string; occurred_at: Date; endpoint: string; method: string; status: number; mode: string }>(
    {
      name: 'ingest-threshold-requests',
      text: `SELECT e.developer_id, e.id, e.occurred_at, e.endpoint, e.properties->>'method' AS method, e.status, e.mode
             FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS s(developer_id, from_at, to_at)
             JOIN events e ON e.developer_id = s.developer_id AND e.occurred_at BETWEEN s.from_at AND s.to_at AND e.type = 'api.request'`,
    },
    spans.map((s) => s.developerId),
    spans.map((s) => s.from),
    spans.map((s) => s.to),
  );
  const byDeveloper = new Map<string, FunnelEvent[]>();
  for (const r of rows) {
    const event: FunnelEvent = {
      id: r.id,
      type: API_REQUEST,
      occurredAt: r.occurred_at.toISOString(),
      properties: { endpoint: r.endpoint, method: r.method, status: r.status, mode: r.mode },
    };
    const list = byDeveloper.get(r.developer_id) ?? byDeveloper.set(r.developer_id, []).get(r.developer_id)!;
    list.push(event);
  }
  return byDeveloper;
}
