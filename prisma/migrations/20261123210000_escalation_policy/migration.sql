-- Escalation policy (versioned, audited like the nudge rules: the same columns as rule_versions).
-- CreateTable
CREATE TABLE "escalation_policy_versions" (
    "version" INTEGER NOT NULL,
    "document" JSONB NOT NULL,
    "source" TEXT NOT NULL,
    "author" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "diff" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "escalation_policy_versions_pkey" PRIMARY KEY ("version")
);
