-- Handoff to a person: the cases (read model), their log, Slack posts made, and Slack request
-- signatures seen (replay protection).
-- CreateTable
CREATE TABLE "handoffs" (
    "id" TEXT NOT NULL,
    "developer_id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "criterion" TEXT NOT NULL,
    "owner" TEXT,
    "level" INTEGER NOT NULL,
    "opened_at" TIMESTAMPTZ(3) NOT NULL,
    "claimed_at" TIMESTAMPTZ(3),
    "closed_at" TIMESTAMPTZ(3),
    "outcome" TEXT,
    "sla_breached" BOOLEAN NOT NULL DEFAULT false,
    "revision" INTEGER NOT NULL,
    "view" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "handoffs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "handoff_steps" (
    "step_key" TEXT NOT NULL,
    "handoff_id" TEXT NOT NULL,
    "developer_id" TEXT NOT NULL,
    "step" TEXT NOT NULL,
    "actor" TEXT,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "detail" JSONB NOT NULL,
    "snapshot" JSONB NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "handoff_steps_pkey" PRIMARY KEY ("step_key")
);

-- CreateTable
CREATE TABLE "slack_posts" (
    "post_key" TEXT NOT NULL,
    "handoff_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "level" INTEGER,
    "channel" TEXT NOT NULL,
    "mention" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "ts" TEXT,
    "status" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "posted_at" TIMESTAMPTZ(3),

    CONSTRAINT "slack_posts_pkey" PRIMARY KEY ("post_key")
);

-- CreateTable
CREATE TABLE "slack_requests" (
    "signature" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "slack_requests_pkey" PRIMARY KEY ("signature")
);

-- CreateIndex
CREATE INDEX "handoffs_status_opened_at_idx" ON "handoffs"("status", "opened_at");

-- CreateIndex
CREATE INDEX "handoffs_developer_id_opened_at_idx" ON "handoffs"("developer_id", "opened_at");

-- CreateIndex
CREATE INDEX "handoff_steps_handoff_id_at_idx" ON "handoff_steps"("handoff_id", "at");

-- CreateIndex
CREATE INDEX "handoff_steps_developer_id_at_idx" ON "handoff_steps"("developer_id", "at");

-- CreateIndex
CREATE INDEX "slack_posts_handoff_id_idx" ON "slack_posts"("handoff_id");

-- CreateIndex
CREATE INDEX "slack_requests_received_at_idx" ON "slack_requests"("received_at");
