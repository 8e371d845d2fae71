-- CreateTable
CREATE TABLE "event_type_stats" (
    "type" TEXT NOT NULL,
    "count" BIGINT NOT NULL,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "event_type_stats_pkey" PRIMARY KEY ("type")
);

-- The events stored before this migration, counted once here; ingest keeps the counts from now on.
INSERT INTO "event_type_stats" ("type", "count", "first_seen_at", "last_seen_at")
SELECT "type", count(*), min("occurred_at"), max("occurred_at") FROM "events" GROUP BY "type";
