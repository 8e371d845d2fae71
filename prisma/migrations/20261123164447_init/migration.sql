-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "events" (
    "id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "developer_id" TEXT,
    "api_key" TEXT,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "endpoint" TEXT,
    "status" INTEGER,
    "mode" TEXT,
    "sdk" BOOLEAN,
    "properties" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "api_key" TEXT NOT NULL,
    "developer_id" TEXT NOT NULL,
    "mode" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "event_id" TEXT NOT NULL,

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("api_key")
);

-- CreateTable
CREATE TABLE "developers" (
    "id" TEXT NOT NULL,
    "email" TEXT,
    "account_type" TEXT,
    "org_id" TEXT,
    "acquisition_channel" TEXT,
    "timezone" TEXT,
    "signed_up_at" TIMESTAMPTZ(3),
    "signup_event_id" TEXT,
    "stage" TEXT,
    "stage_rank" INTEGER NOT NULL DEFAULT -1,
    "stage_at" TIMESTAMPTZ(3),
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "developers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "developer_endpoints" (
    "developer_id" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "requests" INTEGER NOT NULL DEFAULT 0,
    "ok_requests" INTEGER NOT NULL DEFAULT 0,
    "status_400" INTEGER NOT NULL DEFAULT 0,
    "status_401" INTEGER NOT NULL DEFAULT 0,
    "status_429" INTEGER NOT NULL DEFAULT 0,
    "status_4xx" INTEGER NOT NULL DEFAULT 0,
    "status_5xx" INTEGER NOT NULL DEFAULT 0,
    "sdk_requests" INTEGER NOT NULL DEFAULT 0,
    "live_requests" INTEGER NOT NULL DEFAULT 0,
    "first_at" TIMESTAMPTZ(3) NOT NULL,
    "first_ok_at" TIMESTAMPTZ(3),
    "last_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "developer_endpoints_pkey" PRIMARY KEY ("developer_id","endpoint")
);

-- CreateTable
CREATE TABLE "stage_evidence" (
    "developer_id" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "event_id" TEXT NOT NULL,

    CONSTRAINT "stage_evidence_pkey" PRIMARY KEY ("developer_id","stage")
);

-- CreateTable
CREATE TABLE "outbox_signals" (
    "id" BIGSERIAL NOT NULL,
    "developer_id" TEXT NOT NULL,
    "signal_id" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "available_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,

    CONSTRAINT "outbox_signals_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "journey_stages" (
    "developer_id" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "reached_at" TIMESTAMPTZ(3) NOT NULL,
    "cause_event_id" TEXT NOT NULL,
    "late" BOOLEAN NOT NULL DEFAULT false,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "journey_stages_pkey" PRIMARY KEY ("developer_id","stage")
);

-- CreateTable
CREATE TABLE "journey_transitions" (
    "id" BIGSERIAL NOT NULL,
    "developer_id" TEXT NOT NULL,
    "from_stage" TEXT,
    "to_stage" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "cause_event_id" TEXT NOT NULL,
    "machine_version" INTEGER NOT NULL,

    CONSTRAINT "journey_transitions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "events_developer_id_endpoint_occurred_at_idx" ON "events"("developer_id", "endpoint", "occurred_at");

-- CreateIndex
CREATE INDEX "events_api_key_developer_id_idx" ON "events"("api_key", "developer_id");

-- CreateIndex
CREATE INDEX "api_keys_developer_id_idx" ON "api_keys"("developer_id");

-- CreateIndex
CREATE INDEX "developers_stage_idx" ON "developers"("stage");

-- CreateIndex
CREATE INDEX "developers_signed_up_at_idx" ON "developers"("signed_up_at");

-- CreateIndex
CREATE INDEX "outbox_signals_available_at_id_idx" ON "outbox_signals"("available_at", "id");

-- CreateIndex
CREATE INDEX "journey_stages_stage_reached_at_idx" ON "journey_stages"("stage", "reached_at");

-- CreateIndex
CREATE INDEX "journey_transitions_to_stage_occurred_at_idx" ON "journey_transitions"("to_stage", "occurred_at");

-- CreateIndex
CREATE UNIQUE INDEX "journey_transitions_developer_id_to_stage_key" ON "journey_transitions"("developer_id", "to_stage");
