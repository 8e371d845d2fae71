import type { Sql } from '../db/sql.ts';


/** One attributed api.request, as the aggregation needs it. */
export interface AttributedRequest {
  id: string;
  developerId: string;
  endpoint: string;
  status: number;
  mode: string;
  sdk: boolean;
  occurredAt: string;
}

export const isOk = (status: number) => status >= 200 && status <= 299;

/** A batch's totals for one (developer, endpoint), named as developer_endpoints' columns. */
interface EndpointTotals {
  developer_id: string;
  endpoint: string;
  requests: number;
  ok_requests: number;
  status_400: number;
  status_401: number;
  status_429: number;
  status_4xx: number;
  status_5xx: number;
  sdk_requests: number;
  live_requests: number;
  first_at: string;
  first_ok_at: string | null;
  last_at: string;
}

export interface ActiveIntegrationProof {
  developerId: string;
  occurredAt: string;
  eventId: string;
}

/**
 * Adds a batch of requests to the per-developer, per-endpoint aggregates and finds the earliest
 * proof of `active_integration` (2xx calls to ≥ 2 distinct endpoints within 24 hours) that involves
 * one of `candidates` (some of these requests), in one statement: the ingest holds the candidates'
 * developer locks from the statement before until its commit, and each round trip in that span
 * waits its turn on a busy event loop (README, Benchmark), so the span is kept to this statement
 * and the commit.
 *
 * The proof of a pair is its later call. Pairs of older requests were already counted, so
 * min(old proof, this) is exact in any arrival order. Each new call is paired only with the
 * developer's *other* endpoints with a 2xx call — the stored aggregates plus this batch's, as the
 * upsert returns them (a statement does not see its own writes) — so a developer who has called one
 * endpoint costs nothing, by index probes on events(developer_id, endpoint, occurred_at). The new
 * requests must be stored already (an earlier statement of the same transaction).
 */
export async function addRequestsAndProveActive(sql: Sql, requests: AttributedRequest[], candidates: AttributedRequest[]): Promise<ActiveIntegrationProof[]> {
  if (requests.length === 0) return [];
  // The totals travel as one JSON array of rows: pg's escaping of fourteen parallel arrays element
  // by element was most of this statement's cost in Node.
  const totals = JSON.stringify(endpointTotals(requests));
  if (candidates.length === 0) {
    await sql({ name: 'ingest-request-aggregates', text: UPSERT_TOTALS }, totals);
    return [];
  }
  const proofs = await sql<{ developer_id: string; proof_at: Date; proof_id: string }>(
    { name: 'ingest-request-aggregates-and-proofs', text: UPSERT_TOTALS_AND_PROVE_ACTIVE },
    totals,
    candidates.map((c) => c.developerId), candidates.map((c) => c.endpoint), candidates.map((c) => c.occurredAt), candidates.map((c) => c.id),
  );
  return proofs.map((r) => ({ developerId: r.developer_id, occurredAt: r.proof_at.toISOString(), eventId: r.proof_id }));
}

/** $1: the batch's totals (EndpointTotals[] as JSON), sorted, so that concurrent batches lock rows in one order. */
const UPSERT_TOTALS = `
  INSERT INTO developer_endpoints AS t (developer_id, endpoint, requests, ok_requests, status_400, status_401, status_429,
    status_4xx, status_5xx, sdk_requests, live_requests, first_at, first_ok_at, last_at)
  SELECT * FROM json_to_recordset($1::json) AS r(developer_id text, endpoint text, requests int, ok_requests int,
    status_400 int, status_401 int, status_429 int, status_4xx int, status_5xx int, sdk_requests int, live_requests int,
    first_at timestamptz, first_ok_at timestamptz, last_at timestamptz)
  ON CONFLICT (developer_id, endpoint) DO UPDATE SET
    requests = t.requests + excluded.requests, ok_requests = t.ok_requests + excluded.ok_requests,
    status_400 = t.status_400 + excluded.status_400, status_401 = t.status_401 + excluded.status_401,
    status_429 = t.status_429 + excluded.status_429, status_4xx = t.status_4xx + excluded.status_4xx,
    status_5xx = t.status_5xx + excluded.status_5xx, sdk_requests = t.sdk_requests + excluded.sdk_requests,
    live_requests = t.live_requests + excluded.live_requests,
    first_at = least(t.first_at, excluded.first_at), first_ok_at = least(t.first_ok_at, excluded.first_ok_at),
    last_at = greatest(t.last_at, excluded.last_at)`;

/**
 * UPSERT_TOTALS, then the proofs; $2–$5: the candidates' developers, endpoints, times and ids. As
 * arrays, not JSON: the planner takes unnest for a few rows and probes developer_endpoints' key per
 * candidate, where json_to_recordset's estimate (100 rows) made it scan the whole table for one
 * event (3 ms per milestone in the bench).
 */
const UPSERT_TOTALS_AND_PROVE_ACTIVE = `
  WITH upserted AS (${UPSERT_TOTALS} RETURNING t.developer_id, t.endpoint, t.ok_requests),
  n AS (SELECT * FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::text[]) AS n(developer_id, endpoint, occurred_at, id)),
  ok_endpoints AS (
    SELECT developer_id, endpoint FROM developer_endpoints WHERE developer_id IN (SELECT developer_id FROM n) AND ok_requests > 0
    UNION
    SELECT developer_id, endpoint FROM upserted WHERE ok_requests > 0),
  pairs AS (
    SELECT n.developer_id, n.occurred_at, n.id, other.endpoint AS other_endpoint FROM n
    JOIN ok_endpoints other ON other.developer_id = n.developer_id AND other.endpoint <> n.endpoint),
  proofs AS (
    -- the new call is the pair's later call
    SELECT p.developer_id, p.occurred_at AS proof_at, p.id AS proof_id FROM pairs p
    WHERE EXISTS (SELECT 1 FROM events e WHERE e.developer_id = p.developer_id AND e.endpoint = p.other_endpoint
                    AND e.occurred_at BETWEEN p.occurred_at - interval '24 hours' AND p.occurred_at
                    AND e.type = 'api.request' AND e.status BETWEEN 200 AND 299)
    UNION ALL
    -- the new call is the pair's earlier call: the other endpoint's first call within 24 h after it
    SELECT p.developer_id, later.occurred_at, later.id FROM pairs p CROSS JOIN LATERAL (
      SELECT e.occurred_at, e.id FROM events e WHERE e.developer_id = p.developer_id AND e.endpoint = p.other_endpoint
        AND e.occurred_at >= p.occurred_at AND e.occurred_at <= p.occurred_at + interval '24 hours'
        AND e.type = 'api.request' AND e.status BETWEEN 200 AND 299
      ORDER BY e.occurred_at, e.id COLLATE "C" LIMIT 1) later)
  SELECT DISTINCT ON (developer_id) developer_id, proof_at, proof_id FROM proofs
  ORDER BY developer_id, proof_at, proof_id COLLATE "C"`;

/** The batch's totals per (developer, endpoint), sorted so that concurrent batches lock rows in one order. */
function endpointTotals(requests: AttributedRequest[]): EndpointTotals[] {
  const totals = new Map<string, EndpointTotals>();
  for (const r of requests) {
    const key = `${r.developerId}\u0000${r.endpoint}`;
    let t = totals.get(key);
    if (!t) {
      t = { developer_id: r.developerId, endpoint: r.endpoint, requests: 0, ok_requests: 0, status_400: 0, status_401: 0, status_429: 0, status_4xx: 0, status_5xx: 0, sdk_requests: 0, live_requests: 0, first_at: r.occurredAt, first_ok_at: null, last_at: r.occurredAt };
      totals.set(key, t);
    }
    t.requests++;
    if (isOk(r.status)) {
      t.ok_requests++;
      if (t.first_ok_at === null || r.occurredAt < t.first_ok_at) t.first_ok_at = r.occurredAt;
    }
    if (r.status === 400) t.status_400++;
    if (r.status === 401) t.status_401++;
    if (r.status === 429) t.status_429++;
    if (r.status >= 400 && r.status <= 499) t.status_4xx++;
    if (r.status >= 500) t.status_5xx++;
    if (r.sdk) t.sdk_requests++;
    if (r.mode === 'live') t.live_requests++;
    // ISO-8601 UTC strings of one format order like the instants they name.
    if (r.occurredAt < t.first_at) t.first_at = r.occurredAt;
    if (r.occurredAt > t.last_at) t.last_at = r.occurredAt;
  }
  return [...totals.values()].sort((a, b) => (a.developer_id < b.developer_id ? -1 : a.developer_id > b.developer_id ? 1 : a.endpoint < b.endpoint ? -1 : 1));
}
