-- Errors that continue after their burst: one more row per developer and kind, marked continued
-- (and one more journey signal, `burst:<developer>:<kind>:continued`). Existing rows are the
-- first-session bursts.
-- AlterTable
ALTER TABLE "error_bursts" DROP CONSTRAINT "error_bursts_pkey",
ADD COLUMN     "continued" BOOLEAN NOT NULL DEFAULT false,
ADD CONSTRAINT "error_bursts_pkey" PRIMARY KEY ("developer_id", "kind", "continued");
