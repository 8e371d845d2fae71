-- Stage rows are per funnel version. Rows from before are the shipped funnel, stored as version 1.

-- DropIndex
DROP INDEX "journey_stages_stage_reached_at_idx";

-- DropIndex
DROP INDEX "journey_transitions_to_stage_occurred_at_idx";

-- DropIndex
DROP INDEX "journey_transitions_developer_id_to_stage_key";

-- AlterTable
ALTER TABLE "stage_evidence" DROP CONSTRAINT "stage_evidence_pkey",
ADD COLUMN     "funnel_version" INTEGER NOT NULL DEFAULT 1,
ADD CONSTRAINT "stage_evidence_pkey" PRIMARY KEY ("developer_id", "funnel_version", "stage");

-- AlterTable
ALTER TABLE "journey_stages" DROP CONSTRAINT "journey_stages_pkey",
ADD COLUMN     "funnel_version" INTEGER NOT NULL DEFAULT 1,
ADD CONSTRAINT "journey_stages_pkey" PRIMARY KEY ("developer_id", "funnel_version", "stage");

-- AlterTable
ALTER TABLE "journey_transitions" ADD COLUMN     "funnel_version" INTEGER NOT NULL DEFAULT 1;

-- CreateIndex
CREATE INDEX "journey_stages_funnel_version_stage_reached_at_idx" ON "journey_stages"("funnel_version", "stage", "reached_at");

-- CreateIndex
CREATE INDEX "journey_transitions_funnel_version_to_stage_occurred_at_idx" ON "journey_transitions"("funnel_version", "to_stage", "occurred_at");

-- CreateIndex
CREATE UNIQUE INDEX "journey_transitions_developer_id_funnel_version_to_stage_key" ON "journey_transitions"("developer_id", "funnel_version", "to_stage");
