-- Nudge rules (versioned), nudge decisions and emails.
-- CreateTable
CREATE TABLE "rule_versions" (
    "version" INTEGER NOT NULL,
    "document" JSONB NOT NULL,
    "source" TEXT NOT NULL,
    "author" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "diff" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rule_versions_pkey" PRIMARY KEY ("version")
);

-- CreateTable
CREATE TABLE "nudge_decisions" (
    "id" BIGSERIAL NOT NULL,
    "developer_id" TEXT NOT NULL,
    "decision_key" TEXT NOT NULL,
    "nudge_key" TEXT NOT NULL,
    "rule_id" TEXT NOT NULL,
    "rule_version" INTEGER NOT NULL,
    "outcome" TEXT NOT NULL,
    "reason" TEXT,
    "template" TEXT,
    "segment" JSONB NOT NULL,
    "inputs" JSONB NOT NULL,
    "decided_at" TIMESTAMPTZ(3) NOT NULL,
    "scheduled_for" TIMESTAMPTZ(3),
    "recorded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "nudge_decisions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "emails" (
    "id" TEXT NOT NULL,
    "developer_id" TEXT NOT NULL,
    "rule_id" TEXT NOT NULL,
    "rule_version" INTEGER NOT NULL,
    "template" TEXT NOT NULL,
    "to_address" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "html" TEXT NOT NULL,
    "transport" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "message_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sent_at" TIMESTAMPTZ(3),

    CONSTRAINT "emails_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "nudge_decisions_decision_key_key" ON "nudge_decisions"("decision_key");

-- CreateIndex
CREATE INDEX "nudge_decisions_developer_id_decided_at_idx" ON "nudge_decisions"("developer_id", "decided_at");

-- CreateIndex
CREATE INDEX "emails_developer_id_created_at_idx" ON "emails"("developer_id", "created_at");
