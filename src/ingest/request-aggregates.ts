import type { Prisma } from '../generated/prisma/client.ts';

type Tx = Prisma.TransactionClient;

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

/** Adds a batch of requests to the per-developer and per-endpoint aggregates (one statement each). */
export async function addToRequestAggregates(tx: Tx, requests: AttributedRequest[]): Promise<void> {
  if (requests.length === 0) return;
  const byDeveloper = new Map<string, { n: number; ok: number; s400: number; s401: number; s429: number; s4xx: number; s5xx: number; sdk: number; live: number; first: string; last: string }>();
  const byEndpoint = new Map<string, { developerId: string; endpoint: string; n: number; ok: number; first: string; firstOk: string | null }>();
  for (const r of requests) {
    const d = byDeveloper.get(r.developerId) ?? { n: 0, ok: 0, s400: 0, s401: 0, s429: 0, s4xx: 0, s5xx: 0, sdk: 0, live: 0, first: r.occurredAt, last: r.occurredAt };
    d.n++;
    if (isOk(r.status)) d.ok++;
    if (r.status === 400) d.s400++;
    if (r.status === 401) d.s401++;
    if (r.status === 429) d.s429++;
    if (r.status >= 400 && r.status <= 499) d.s4xx++;
    if (r.status >= 500) d.s5xx++;
    if (r.sdk) d.sdk++;
    if (r.mode === 'live') d.live++;
    if (r.occurredAt < d.first) d.first = r.occurredAt;
    if (r.occurredAt > d.last) d.last = r.occurredAt;
    byDeveloper.set(r.developerId, d);

    const key = `${r.developerId}\u0000${r.endpoint}`;
    const e = byEndpoint.get(key) ?? { developerId: r.developerId, endpoint: r.endpoint, n: 0, ok: 0, first: r.occurredAt, firstOk: null };
    e.n++;
    if (r.occurredAt < e.first) e.first = r.occurredAt;
    if (isOk(r.status)) {
      e.ok++;
      if (e.firstOk === null || r.occurredAt < e.firstOk) e.firstOk = r.occurredAt;
    }
    byEndpoint.set(key, e);
  }
  const devs = [...byDeveloper.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  const col = <K extends keyof (typeof devs)[number][1]>(k: K) => devs.map(([, d]) => d[k]);
  await tx.$executeRawUnsafe(
    `INSERT INTO developer_request_stats AS t (developer_id, requests, ok_requests, status_400, status_401, status_429,
        status_4xx, status_5xx, sdk_requests, raw_requests, live_requests, first_request_at, last_request_at)
     SELECT d, n, ok, s400, s401, s429, s4xx, s5xx, sdk, n - sdk, live, f, l
     FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[], $9::int[], $10::int[],
                 $11::timestamptz[], $12::timestamptz[]) AS u(d, n, ok, s400, s401, s429, s4xx, s5xx, sdk, live, f, l)
     ON CONFLICT (developer_id) DO UPDATE SET
       requests = t.requests + excluded.requests, ok_requests = t.ok_requests + excluded.ok_requests,
       status_400 = t.status_400 + excluded.status_400, status_401 = t.status_401 + excluded.status_401,
       status_429 = t.status_429 + excluded.status_429, status_4xx = t.status_4xx + excluded.status_4xx,
       status_5xx = t.status_5xx + excluded.status_5xx, sdk_requests = t.sdk_requests + excluded.sdk_requests,
       raw_requests = t.raw_requests + excluded.raw_requests, live_requests = t.live_requests + excluded.live_requests,
       first_request_at = least(t.first_request_at, excluded.first_request_at),
       last_request_at = greatest(t.last_request_at, excluded.last_request_at)`,
    devs.map(([id]) => id), col('n'), col('ok'), col('s400'), col('s401'), col('s429'), col('s4xx'), col('s5xx'), col('sdk'), col('live'), col('first'), col('last'),
  );
  const endpoints = [...byEndpoint.values()].sort((a, b) => (a.developerId + a.endpoint < b.developerId + b.endpoint ? -1 : 1));
  await tx.$executeRawUnsafe(
    `INSERT INTO developer_endpoints AS t (developer_id, endpoint, requests, ok_requests, first_at, first_ok_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::timestamptz[], $6::timestamptz[])
     ON CONFLICT (developer_id, endpoint) DO UPDATE SET
       requests = t.requests + excluded.requests, ok_requests = t.ok_requests + excluded.ok_requests,
       first_at = least(t.first_at, excluded.first_at), first_ok_at = least(t.first_ok_at, excluded.first_ok_at)`,
    endpoints.map((e) => e.developerId), endpoints.map((e) => e.endpoint), endpoints.map((e) => e.n), endpoints.map((e) => e.ok),
    endpoints.map((e) => e.first), endpoints.map((e) => e.firstOk),
  );
}

/**
 * Earliest proof of `active_integration` (2xx calls to ≥ 2 distinct endpoints within 24 hours)
 * that involves at least one of the new requests: the proof of a pair is its later call. Pairs of
 * older requests were already counted, so min(old proof, this) is exact in any arrival order.
 * `candidates` must be stored already (same transaction).
 */
export async function activeIntegrationProofs(tx: Tx, candidates: AttributedRequest[]): Promise<{ developerId: string; occurredAt: string; eventId: string }[]> {
  if (candidates.length === 0) return [];
  const rows = await tx.$queryRawUnsafe<{ developer_id: string; proof_at: Date; proof_id: string }[]>(
    `WITH n AS (SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[]) AS n(developer_id, endpoint, occurred_at, id)),
     ok AS NOT MATERIALIZED (SELECT developer_id, endpoint, occurred_at, id FROM events WHERE type = 'api.request' AND status BETWEEN 200 AND 299),
     proofs AS (
       SELECT n.developer_id, n.occurred_at AS proof_at, n.id AS proof_id FROM n
       WHERE EXISTS (SELECT 1 FROM ok WHERE ok.developer_id = n.developer_id AND ok.endpoint <> n.endpoint
                       AND ok.occurred_at BETWEEN n.occurred_at - interval '24 hours' AND n.occurred_at)
       UNION ALL
       SELECT n.developer_id, later.occurred_at, later.id FROM n CROSS JOIN LATERAL (
         SELECT ok.occurred_at, ok.id FROM ok WHERE ok.developer_id = n.developer_id AND ok.endpoint <> n.endpoint
           AND ok.occurred_at >= n.occurred_at AND ok.occurred_at <= n.occurred_at + interval '24 hours'
         ORDER BY ok.occurred_at, ok.id COLLATE "C" LIMIT 1) later)
     SELECT DISTINCT ON (developer_id) developer_id, proof_at, proof_id FROM proofs
     ORDER BY developer_id, proof_at, proof_id COLLATE "C"`,
    candidates.map((c) => c.developerId), candidates.map((c) => c.endpoint), candidates.map((c) => c.occurredAt), candidates.map((c) => c.id),
  );
  return rows.map((r) => ({ developerId: r.developer_id, occurredAt: r.proof_at.toISOString(), eventId: r.proof_id }));
}
