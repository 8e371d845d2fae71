-- CreateTable
CREATE TABLE "developer_deletions" (
    "developer_id" TEXT NOT NULL,
    "deleted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_by" TEXT NOT NULL,
    "reason" TEXT,

    CONSTRAINT "developer_deletions_pkey" PRIMARY KEY ("developer_id")
);
