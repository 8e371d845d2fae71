-- Funnel versions (versioned, audited like the nudge rules: the same columns as rule_versions).
-- CreateTable
CREATE TABLE "funnel_versions" (
    "version" INTEGER NOT NULL,
    "document" JSONB NOT NULL,
    "source" TEXT NOT NULL,
    "author" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "diff" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "funnel_versions_pkey" PRIMARY KEY ("version")
);
