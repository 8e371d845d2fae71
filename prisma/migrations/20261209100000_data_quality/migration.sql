-- AlterTable
ALTER TABLE "unattributed_requests" ADD COLUMN     "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- Requests already waiting started waiting when their event was received.
UPDATE "unattributed_requests" w SET "received_at" = e."received_at" FROM "events" e WHERE e."id" = w."event_id";

-- CreateTable
CREATE TABLE "source_lateness" (
    "source" TEXT NOT NULL,
    "window_start" TIMESTAMPTZ(3) NOT NULL,
    "buckets" BIGINT[],
    "max_seconds" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "source_lateness_pkey" PRIMARY KEY ("source","window_start")
);

-- CreateIndex
CREATE INDEX "unattributed_requests_received_at_idx" ON "unattributed_requests"("received_at");
