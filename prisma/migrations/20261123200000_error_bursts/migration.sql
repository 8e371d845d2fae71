-- First-session error bursts, one row (and one journey signal) per developer and kind.
-- CreateTable
CREATE TABLE "error_bursts" (
    "developer_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "status" INTEGER NOT NULL,
    "count" INTEGER NOT NULL,
    "endpoint" TEXT,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "detected_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "error_bursts_pkey" PRIMARY KEY ("developer_id","kind")
);

