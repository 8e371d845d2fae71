-- CreateTable
CREATE TABLE "experiment_allocations" (
    "id" BIGSERIAL NOT NULL,
    "experiment_id" TEXT NOT NULL,
    "rules_version" INTEGER NOT NULL,
    "as_of" TIMESTAMPTZ(3) NOT NULL,
    "weights" JSONB NOT NULL,
    "arms" JSONB NOT NULL,
    "reason" TEXT NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "experiment_allocations_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "experiment_allocations_experiment_id_rules_version_as_of_key" ON "experiment_allocations"("experiment_id", "rules_version", "as_of");

