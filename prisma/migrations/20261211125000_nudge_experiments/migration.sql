-- AlterTable
ALTER TABLE "nudge_decisions" ADD COLUMN     "experiment_id" TEXT,
ADD COLUMN     "variant_id" TEXT;

-- CreateIndex
CREATE INDEX "nudge_decisions_experiment_id_developer_id_decided_at_idx" ON "nudge_decisions"("experiment_id", "developer_id", "decided_at");

