-- CreateTable
CREATE TABLE "funnel_recomputations" (
    "funnel_version" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "developers_done" INTEGER NOT NULL DEFAULT 0,
    "last_developer_id" TEXT,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "funnel_recomputations_pkey" PRIMARY KEY ("funnel_version")
);

