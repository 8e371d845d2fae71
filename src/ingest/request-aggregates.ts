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
 * Counts the requests of `relation` (columns developer_id, endpoint, status, sdk, occurred_at)
 * into the daily rollups (request_rollups): the requests that have no raw row. Sorted like
 * addToEndpointTotals, for the same reason.
 */
export const addToRequestRollups = (relation: string) => `
  INSERT INTO request_rollups AS t (developer_id, day, endpoint, status_class, sdk, requests, first_at, last_at)
  SELECT developer_id, (occurred_at AT TIME ZONE 'UTC')::date, endpoint, status / 100, sdk, count(*), min(occurred_at), max(occurred_at)
  FROM ${relation}
  GROUP BY 1, 2, 3, 4, 5
  ORDER BY developer_id COLLATE "C", 2, endpoint COLLATE "C", 4, 5
  ON CONFLICT (developer_id, day, endpoint, status_class, sdk) DO UPDATE SET
    requests = t.requests + excluded.requests, first_at = least(t.first_at, excluded.first_at), last_at = greatest(t.last_at, excluded.last_at)`;
