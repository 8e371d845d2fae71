import type { Sql } from '../db/sql.ts';
import { BUILT_IN_EVENT_TYPES, type IngestEvent } from '../events/event-schemas.ts';
import { ARRIVAL_DAY_SQL, FIRST_SESSION_SQL, firstRequestSql, rawUntilSql, type RawRequestWindow } from '../retention/raw-request-window.ts';
import type { DevelopersEvent } from './funnel-evidence.ts';
import { addToEndpointTotals, addToRequestRollups, type AttributedRequest } from './request-aggregates.ts';

export interface StoredBatch {
  /** Ids of the batch's events not stored by it: stored before (duplicates), or a deleted developer's. */
  skipped: Set<string>;
  /** Developers of this batch who were deleted (DELETE /v1/developers/:id): nothing of theirs was stored. */
  deleted: Set<string>;
  /** Ids of the batch's new requests from developers past their raw-request window: counted into the rollups, no raw row. */
  rolledUp: Set<string>;
  /** Requests stored earlier, before their key's creation, which this batch's key creations attributed. */
  lateAttributed: AttributedRequest[];
  /** Custom events stored earlier, before their key's creation, which this batch's key creations attributed. */
  lateEvents: DevelopersEvent[];
}

/** Where the batch's developers stand for the raw-request window: the policy and the funnel's final stage. */
export interface RequestRetention {
  window: RawRequestWindow;
  finalStage: string | null;
}

/**
 * Stores a batch's events in one statement: the events not already stored, except a deleted
 * developer's (a request is new when its id is not among the days of ids kept; any other event,
 * when its id is not stored); each new request of a developer past their raw-request window as a
 * count in the rollups instead of a row; the requests and custom events whose key is not mapped yet, to wait for its
 * creation; the waiting events that this batch's key creations attribute; and every newly
 * attributed request, added to the per-endpoint aggregates. One statement because the ingest is
 * bound by CPU on both sides of the wire, and each round trip costs both (bench/RESULTS.md).
 *
 * The key mappings of this batch must be written before (mapApiKeys), and `developerOf` must know
 * them: a request of this batch never waits for a key this batch creates.
 */
export async function storeEvents(
  sql: Sql,
  batch: IngestEvent[],
  developerOf: (e: IngestEvent) => string | undefined,
  sdkOf: Map<string, boolean>,
  { window, finalStage }: RequestRetention,
): Promise<StoredBatch> {
  // Sorted by id: batches sharing events (retried deliveries) wait on each other, never in a cycle.
  const events = [...batch].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rows = await sql<{
    outcome: 'skipped' | 'deleted' | 'rolled' | 'late' | 'late_event';
    id: string;
    type: string;
    properties: Record<string, unknown>;
    developer_id: string;
    endpoint: string;
    status: number;
    mode: string;
    method: string;
    sdk: boolean;
    occurred_at: Date;
  }>(
    { name: 'ingest-events', text: STORE_EVENTS },
    events.map((e) => e.id),
    events.map((e) => e.type),
    events.map((e) => developerOf(e) ?? null),
    events.map((e) => e.occurredAt),
    events.map((e) => (e.type === 'api.request' ? sdkOf.get(e.id)! : null)),
    JSON.stringify(events.map((e) => e.properties)),
    window.afterSignupMs,
    window.afterFinalStageMs,
    finalStage,
    window.dedupDays,
  );
  const stored: StoredBatch = { skipped: new Set(), deleted: new Set(), rolledUp: new Set(), lateAttributed: [], lateEvents: [] };
  for (const r of rows) {
    if (r.outcome === 'skipped') stored.skipped.add(r.id);
    else if (r.outcome === 'deleted') stored.deleted.add(r.id);
    else if (r.outcome === 'rolled') stored.rolledUp.add(r.id);
    else if (r.outcome === 'late_event')
      stored.lateEvents.push({ developerId: r.developer_id, event: { id: r.id, type: r.type, occurredAt: r.occurred_at.toISOString(), properties: r.properties } });
    else
      stored.lateAttributed.push({
        id: r.id,
        developerId: r.developer_id,
        endpoint: r.endpoint,
        status: r.status,
        mode: r.mode,
        method: r.method,
        sdk: r.sdk,
        occurredAt: r.occurred_at.toISOString(),
      });
  }
  return stored;
}

/** The types whose key is a column: a key's creation, and the events a key attributes (requests and custom events). */
const KEYED = `type IN ('api.request', 'api_key.created') OR type NOT IN (${BUILT_IN_EVENT_TYPES.map((t) => `'${t}'`).join(', ')})`;

/**
 * $1–$5: ids, types, developers, times, SDK flags (sorted by id); $6: the properties as one JSON
 * array, zipped by position with the other columns. The request columns (key, endpoint, status,
 * mode) are read from it in SQL: pg's escaping of a text array element by element was the costliest
 * part of the insert in Node. $7, $8: the raw-request window after signup and after the final
 * stage (ms); $9: the final stage; $10: the days of request ids kept. The tombstones are a small table, probed here.
 */
const STORE_EVENTS = `
  WITH deleted AS (SELECT developer_id FROM developer_deletions WHERE developer_id = ANY($3::text[])),
  batch AS (
    SELECT u.id, u.type, u.developer_id, u.occurred_at, u.sdk, p.properties, u.type = 'api.request' AS request,
      min(u.occurred_at) FILTER (WHERE u.type = 'api.request') OVER (PARTITION BY u.developer_id) AS batch_first
    FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::boolean[])
      WITH ORDINALITY AS u(id, type, developer_id, occurred_at, sdk, n)
    JOIN jsonb_array_elements($6::jsonb) WITH ORDINALITY AS p(properties, n) USING (n)
    WHERE NOT EXISTS (SELECT 1 FROM deleted d WHERE d.developer_id = u.developer_id)),
  -- A request is new when no day of ids kept holds its id: its id joins today's.
  new_requests AS (
    INSERT INTO event_ids (id, day)
    SELECT id, ${ARRIVAL_DAY_SQL} FROM batch b
    WHERE request AND NOT EXISTS (
      SELECT 1 FROM event_ids o WHERE o.id = b.id AND o.day >= ${ARRIVAL_DAY_SQL} - $10::int AND o.day < ${ARRIVAL_DAY_SQL})
    ON CONFLICT (id, day) DO NOTHING
    RETURNING id),
  -- The developer's window, looked up per request by its key: a join here was planned as a scan
  -- of developers per row (the planner cannot tell how many rows unnest gives).
  -- A request within 24 h of the developer's first one known (stored or in this batch) is kept: the
  -- first session's rows stay out of the months of traffic (docs/concepts/storage.md).
  fresh AS (
    SELECT b.*, coalesce(b.request AND b.occurred_at > (SELECT ${rawUntilSql('d', '$7', '$8', '$9::text')} FROM developers d WHERE d.id = b.developer_id), false) AS past,
      coalesce(b.request AND b.developer_id IS NOT NULL
        AND b.occurred_at <= least(b.batch_first, ${firstRequestSql('b.developer_id')}) + ${FIRST_SESSION_SQL}, false) AS first_session
    FROM batch b
    WHERE NOT b.request OR b.id IN (SELECT id FROM new_requests)),
  -- Any other event is new when it is not stored (events_kept's unique id).
  inserted AS (
    INSERT INTO events (id, type, developer_id, api_key, occurred_at, endpoint, status, mode, sdk, properties, kept)
    SELECT id, type, developer_id,
      CASE WHEN ${KEYED} THEN properties->>'apiKey' END,
      occurred_at,
      CASE WHEN request THEN properties->>'endpoint' END,
      CASE WHEN request THEN (properties->>'status')::int END,
      properties->>'mode', sdk, properties, NOT request OR first_session
    FROM fresh WHERE NOT past
    ON CONFLICT DO NOTHING
    RETURNING id, type, developer_id, api_key, endpoint, status, mode, sdk, occurred_at),
  -- Past the developer's raw-request window: counted, not stored.
  past_window AS (
    SELECT id, developer_id, properties->>'endpoint' AS endpoint, (properties->>'status')::int AS status, properties->>'mode' AS mode, sdk, occurred_at
    FROM fresh WHERE past),
  rolled AS (${addToRequestRollups('past_window')}),
  -- An event whose key is not mapped yet (a request, a custom event) waits for the key's creation (lockApiKeys orders the two).
  waiting AS (
    INSERT INTO unattributed_requests (event_id, api_key, occurred_at)
    SELECT id, api_key, occurred_at FROM inserted WHERE developer_id IS NULL),
  -- A key's creation arrived after requests made with it: they are attributed now, never dropped.
  attributed AS (
    DELETE FROM unattributed_requests w USING api_keys k
    WHERE k.api_key IN (SELECT api_key FROM inserted WHERE type = 'api_key.created') AND w.api_key = k.api_key
    RETURNING w.event_id, w.occurred_at, k.developer_id),
  -- By time as well as id: a windowed request is found in its month, where no index has its id. A
  -- request of the developer's first session moves to the kept events, as it would have been stored.
  late AS (
    UPDATE events e SET developer_id = a.developer_id,
      kept = e.kept OR e.occurred_at <= least(
        ${firstRequestSql('a.developer_id')},
        (SELECT min(r.occurred_at) FROM attributed r JOIN events q ON q.id = r.event_id AND q.occurred_at = r.occurred_at AND q.type = 'api.request'
          WHERE r.developer_id = a.developer_id)) + ${FIRST_SESSION_SQL}
    FROM attributed a
    WHERE e.id = a.event_id AND e.occurred_at = a.occurred_at AND e.developer_id IS NULL
    RETURNING e.id, e.type, e.developer_id, e.endpoint, e.status, e.mode, e.properties->>'method' AS method, e.sdk, e.occurred_at, e.properties),
  totals AS (${addToEndpointTotals(`(
    SELECT developer_id, endpoint, status, mode, sdk, occurred_at FROM inserted WHERE type = 'api.request' AND developer_id IS NOT NULL
    UNION ALL
    SELECT developer_id, endpoint, status, mode, sdk, occurred_at FROM past_window
    UNION ALL
    SELECT developer_id, endpoint, status, mode, sdk, occurred_at FROM late WHERE type = 'api.request') AS requests`)})
  -- What was not stored, not what was: nearly every event is new, and its id need not travel back.
  SELECT 'skipped' AS outcome, id, NULL AS type, NULL AS developer_id, NULL AS endpoint, NULL::int AS status, NULL AS mode, NULL AS method, NULL::boolean AS sdk,
         NULL::timestamptz AS occurred_at, NULL::jsonb AS properties
    FROM unnest($1::text[]) AS batch(id) WHERE id NOT IN (SELECT id FROM inserted UNION ALL SELECT id FROM past_window)
  UNION ALL SELECT 'deleted', developer_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM deleted
  UNION ALL SELECT 'rolled', id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM past_window
  UNION ALL SELECT 'late', id, type, developer_id, endpoint, status, mode, method, sdk, occurred_at, NULL FROM late WHERE type = 'api.request'
  UNION ALL SELECT 'late_event', id, type, developer_id, NULL, NULL, NULL, NULL, NULL, occurred_at, properties FROM late WHERE type <> 'api.request'`;
