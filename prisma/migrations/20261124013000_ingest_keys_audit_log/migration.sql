-- CreateTable
CREATE TABLE "ingest_keys" (
    "id" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" TEXT NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),
    "revoked_by" TEXT,

    CONSTRAINT "ingest_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_log" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "reason" TEXT,
    "diff" TEXT,
    "detail" JSONB,

    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ingest_keys_hash_key" ON "ingest_keys"("hash");

-- CreateIndex
CREATE INDEX "audit_log_at_idx" ON "audit_log"("at");

-- CreateIndex
CREATE INDEX "audit_log_action_at_idx" ON "audit_log"("action", "at");

-- The versions stored before the audit log existed: their rows, in order.
INSERT INTO "audit_log" ("at", "actor", "action", "subject", "reason", "diff")
SELECT "at", "actor", "action", "subject", "reason", "diff" FROM (
    SELECT "created_at" AS "at", "author" AS "actor", 'rules.applied' AS "action", 'rules v' || "version" AS "subject", "reason", "diff" FROM "rule_versions"
    UNION ALL
    SELECT "created_at", "author", 'escalation_policy.applied', 'escalation policy v' || "version", "reason", "diff" FROM "escalation_policy_versions"
) AS "versions" ORDER BY "at";
