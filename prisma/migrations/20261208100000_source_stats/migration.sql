-- CreateTable
CREATE TABLE "source_stats" (
    "source" TEXT NOT NULL,
    "last_received_at" TIMESTAMPTZ(3) NOT NULL,
    "accepted" BIGINT NOT NULL DEFAULT 0,
    "duplicates" BIGINT NOT NULL DEFAULT 0,
    "rejected" BIGINT NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "last_error_at" TIMESTAMPTZ(3),

    CONSTRAINT "source_stats_pkey" PRIMARY KEY ("source")
);

