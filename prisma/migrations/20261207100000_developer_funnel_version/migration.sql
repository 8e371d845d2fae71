-- AlterTable
ALTER TABLE "developers" ADD COLUMN     "funnel_version" INTEGER;

-- Journeys that recorded where they stand before: the newest version with a row of their current
-- stage at its time (the others record theirs with their next stage).
UPDATE "developers" d SET "funnel_version" = (
  SELECT max(s."funnel_version") FROM "journey_stages" s
  WHERE s."developer_id" = d."id" AND s."stage" = d."stage" AND s."reached_at" = d."stage_at")
WHERE d."stage" IS NOT NULL;
