-- Storage bounded by onboarding (docs/concepts/storage.md): events split by what is kept forever
-- and what is kept by month; request ids deduplicated in daily partitions; request rollups.

-- events: `kept` rows (every event but api.request, and the requests of first sessions) stay;
-- api.request rows go to monthly partitions of events_windowed, rolled up and dropped by the
-- retention job. The rows out of every month created (a far past import) land in the default one.
ALTER TABLE "events" RENAME TO "events_unpartitioned";
ALTER TABLE "events_unpartitioned" RENAME CONSTRAINT "events_pkey" TO "events_unpartitioned_pkey";
ALTER INDEX "events_developer_id_endpoint_occurred_at_idx" RENAME TO "events_unpartitioned_developer_idx";

CREATE TABLE "events" (
    "id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "developer_id" TEXT,
    "api_key" TEXT,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "endpoint" TEXT,
    "status" INTEGER,
    "mode" TEXT,
    "sdk" BOOLEAN,
    "properties" JSONB NOT NULL DEFAULT '{}',
    "kept" BOOLEAN NOT NULL DEFAULT true
) PARTITION BY LIST ("kept");
CREATE INDEX "events_developer_id_endpoint_occurred_at_idx" ON "events"("developer_id", "endpoint", "occurred_at");

CREATE TABLE "events_kept" PARTITION OF "events" FOR VALUES IN (true);
-- Kept events are deduplicated by id forever: they grow with developers, not with traffic.
CREATE UNIQUE INDEX "events_kept_id_key" ON "events_kept"("id");
CREATE TABLE "events_windowed" PARTITION OF "events" FOR VALUES IN (false) PARTITION BY RANGE ("occurred_at");
CREATE TABLE "events_windowed_default" PARTITION OF "events_windowed" DEFAULT;

INSERT INTO "events" ("id", "type", "developer_id", "api_key", "occurred_at", "received_at", "endpoint", "status", "mode", "sdk", "properties", "kept")
SELECT "id", "type", "developer_id", "api_key", "occurred_at", "received_at", "endpoint", "status", "mode", "sdk", "properties", "type" <> 'api.request'
FROM "events_unpartitioned";
DROP TABLE "events_unpartitioned";

-- The ids of api.request events, by the day they arrived: duplicates are refused within the
-- days kept (at least 7 days), and older days are dropped whole.
CREATE TABLE "event_ids" (
    "id" TEXT NOT NULL,
    "day" INTEGER NOT NULL,
    CONSTRAINT "event_ids_pkey" PRIMARY KEY ("id", "day")
) PARTITION BY RANGE ("day");
CREATE TABLE "event_ids_default" PARTITION OF "event_ids" DEFAULT;
INSERT INTO "event_ids" ("id", "day")
SELECT "id", floor(extract(epoch FROM "received_at") / 86400)::int FROM "events" WHERE NOT "kept" AND "received_at" > statement_timestamp() - interval '8 days';

-- A late attribution finds its windowed row by time (there is no index on the id of requests).
ALTER TABLE "unattributed_requests" ADD COLUMN "occurred_at" TIMESTAMPTZ(3);
UPDATE "unattributed_requests" w SET "occurred_at" = e."occurred_at" FROM "events" e WHERE e."id" = w."event_id";
UPDATE "unattributed_requests" SET "occurred_at" = "received_at" WHERE "occurred_at" IS NULL;
ALTER TABLE "unattributed_requests" ALTER COLUMN "occurred_at" SET NOT NULL;

-- Requests without a raw row (past their developer's window, or their month dropped), counted.
CREATE TABLE "request_rollups" (
    "developer_id" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "endpoint" TEXT NOT NULL,
    "status_class" SMALLINT NOT NULL,
    "sdk" BOOLEAN NOT NULL,
    "requests" INTEGER NOT NULL,
    "first_at" TIMESTAMPTZ(3) NOT NULL,
    "last_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "request_rollups_pkey" PRIMARY KEY ("developer_id", "day", "endpoint", "status_class", "sdk")
);
CREATE INDEX "request_rollups_day_idx" ON "request_rollups"("day");

-- Each month's drop, and how much it rolled up and kept: the retention job's record.
CREATE TABLE "retention_runs" (
    "partition" TEXT NOT NULL,
    "ran_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "rolled_up" INTEGER NOT NULL,
    "kept" INTEGER NOT NULL,
    CONSTRAINT "retention_runs_pkey" PRIMARY KEY ("partition", "ran_at")
);

