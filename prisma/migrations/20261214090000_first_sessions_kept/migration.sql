-- First-session requests are stored kept at ingest (docs/concepts/storage.md): the requests within
-- 24 hours of their developer's first one move out of the months of traffic, so that the
-- first-session metrics read the kept events only.
WITH firsts AS (
  SELECT developer_id, min(first_at) AS first_at FROM developer_endpoints GROUP BY developer_id
),
moved AS (
  DELETE FROM "events_windowed" w USING firsts f
  WHERE w."developer_id" = f.developer_id AND w."occurred_at" <= f.first_at + interval '24 hours'
  RETURNING w.*
)
INSERT INTO "events" ("id", "type", "developer_id", "api_key", "occurred_at", "received_at", "endpoint", "status", "mode", "sdk", "properties", "kept")
SELECT "id", "type", "developer_id", "api_key", "occurred_at", "received_at", "endpoint", "status", "mode", "sdk", "properties", true FROM moved
ON CONFLICT DO NOTHING;
