-- CreateTable
CREATE TABLE "developer_first_events" (
    "developer_id" TEXT NOT NULL,
    "event_type" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "event_id" TEXT NOT NULL,

    CONSTRAINT "developer_first_events_pkey" PRIMARY KEY ("developer_id","event_type")
);

-- The events stored before this migration: each developer's earliest of each type (the evidence
-- order: event time, then the id in byte order), and the `event.seen` signal that tells their
-- journey (deleted developers left out). Ingest keeps both from now on.
INSERT INTO "developer_first_events" ("developer_id", "event_type", "occurred_at", "event_id")
SELECT DISTINCT ON (e."developer_id", e."type") e."developer_id", e."type", e."occurred_at", e."id"
  FROM "events" e
 WHERE e."developer_id" IS NOT NULL AND e."type" <> 'api.request'
   AND NOT EXISTS (SELECT 1 FROM "developer_deletions" x WHERE x."developer_id" = e."developer_id")
 ORDER BY e."developer_id", e."type", e."occurred_at", e."id" COLLATE "C";

INSERT INTO "outbox_signals" ("developer_id", "signal_id", "payload")
SELECT f."developer_id", f."event_id" || '#seen',
       jsonb_build_object('id', f."event_id" || '#seen', 'type', 'event.seen', 'eventType', f."event_type",
                          'occurredAt', to_char(f."occurred_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
  FROM "developer_first_events" f
 ORDER BY f."developer_id", f."occurred_at";
