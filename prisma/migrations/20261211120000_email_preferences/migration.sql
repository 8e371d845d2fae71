-- AlterTable
ALTER TABLE "developers" ADD COLUMN     "locale" TEXT,
ADD COLUMN     "name" TEXT;

-- CreateTable
CREATE TABLE "email_preferences" (
    "developer_id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "categories" JSONB NOT NULL DEFAULT '{}',
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "event_id" TEXT NOT NULL,

    CONSTRAINT "email_preferences_pkey" PRIMARY KEY ("developer_id")
);

