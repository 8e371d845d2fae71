import type { Sql } from '../db/sql.ts';
import { evidenceOrderSql } from '../journey/evidence-order.ts';

/** One attributed api.request, as the aggregation needs it. */
export interface AttributedRequest {
  id: string;
  developerId: string;
  endpoint: string;
  status: number;
  mode: string;
  method: string;
  sdk: boolean;
  occurredAt: string;
}

export const isOk = (status: number) => status >= 200 && status <= 299;

export interface ActiveIntegrationProof {
  developerId: string;
  occurredAt: string;
  eventId: string;
}

/**
 * Adds the requests of `relation` (columns developer_id, endpoint, status, mode, sdk, occurred_at)
 * to the per-developer, per-endpoint aggregates: an INSERT for the statement that stores them
 * (storeEvents), which knows which requests are new. Sorted, so that concurrent batches lock the
 * rows in one order.
 */
export const addToEndpointTotals = (relation: string) => `
  INSERT INTO developer_endpoints AS t (developer_id, endpoint, requests, ok_requests, status_400, status_401, status_429,
    status_4xx, status_5xx, sdk_requests, live_requests, first_at, first_ok_at, last_at)
  SELECT developer_id, endpoint, count(*), count(*) FILTER (WHERE status BETWEEN 200 AND 299),
    count(*) FILTER (WHERE status = 400), count(*) FILTER (WHERE status = 401), count(*) FILTER (WHERE status = 429),
    count(*) FILTER (WHERE status BETWEEN 400 AND 499), count(*) FILTER (WHERE status >= 500),
    count(*) FILTER (WHERE sdk), count(*) FILTER (WHERE mode = 'live'),
    min(occurred_at), min(occurred_at) FILTER (WHERE status BETWEEN 200 AND 299), max(occurred_at)
  FROM ${relation}
  GROUP BY developer_id, endpoint
  ORDER BY developer_id COLLATE "C", endpoint COLLATE "C"
  ON CONFLICT (developer_id, endpoint) DO UPDATE SET
    requests = t.requests + excluded.requests, ok_requests = t.ok_requests + excluded.ok_requests,
    status_400 = t.status_400 + excluded.status_400, status_401 = t.status_401 + excluded.status_401,
    status_429 = t.status_429 + excluded.status_429, status_4xx = t.status_4xx + excluded.status_4xx,
    status_5xx = t.status_5xx + excluded.status_5xx, sdk_requests = t.sdk_requests + excluded.sdk_requests,
    live_requests = t.live_requests + excluded.live_requests,
    first_at = least(t.first_at, excluded.first_at), first_ok_at = least(t.first_ok_at, excluded.first_ok_at),
    last_at = greatest(t.last_at, excluded.last_at)`;

/**
 * The earliest proof of `active_integration` (2xx calls to ≥ 2 distinct endpoints within 24 hours)
 * that involves one of `candidates` (new requests, stored and added to the aggregates by an earlier
 * statement of the transaction, which holds the candidates' developer locks).
 *
 * The proof of a pair is its later call. Pairs of older requests were already counted, so
 * min(old proof, this) is exact in any arrival order. Each new call is paired only with the
 * developer's *other* endpoints with a 2xx call (from the aggregates), so a developer who has called
 * one endpoint costs nothing, by index probes on events(developer_id, endpoint, occurred_at).
 */
export async function proveActiveIntegration(sql: Sql, candidates: AttributedRequest[]): Promise<ActiveIntegrationProof[]> {
  if (candidates.length === 0) return [];
  const proofs = await sql<{ developer_id: string; proof_at: Date; proof_id: string }>(
    { name: 'ingest-active-integration-proofs', text: PROVE_ACTIVE_INTEGRATION },
    candidates.map((c) => c.developerId),
    candidates.map((c) => c.endpoint),
    candidates.map((c) => c.occurredAt),
    candidates.map((c) => c.id),
  );
  return proofs.map((r) => ({ developerId: r.developer_id, occurredAt: r.proof_at.toISOString(), eventId: r.proof_id }));
}

/**
 * $1–$4: the candidates' developers, endpoints, times and ids. As arrays, not JSON: the planner
 * takes unnest for a few rows and probes developer_endpoints' key per candidate, where
 * json_to_recordset's estimate (100 rows) made it scan the whole table for one event (3 ms per
 * milestone in the bench).
 */
const PROVE_ACTIVE_INTEGRATION = `
  WITH n AS (SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[]) AS n(developer_id, endpoint, occurred_at, id)),
  pairs AS (
    SELECT n.developer_id, n.occurred_at, n.id, other.endpoint AS other_endpoint FROM n
    JOIN developer_endpoints other ON other.developer_id = n.developer_id AND other.endpoint <> n.endpoint AND other.ok_requests > 0),
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
      ORDER BY ${evidenceOrderSql('e.occurred_at', 'e.id')} LIMIT 1) later)
  SELECT DISTINCT ON (developer_id) developer_id, proof_at, proof_id FROM proofs
  ORDER BY developer_id, ${evidenceOrderSql('proof_at', 'proof_id')}`;
