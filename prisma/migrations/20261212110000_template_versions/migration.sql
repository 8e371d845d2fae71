-- AlterTable
ALTER TABLE "emails" ADD COLUMN     "template_version" INTEGER;

-- CreateTable
CREATE TABLE "template_versions" (
    "version" INTEGER NOT NULL,
    "files" JSONB NOT NULL,
    "content_hash" TEXT NOT NULL,
    "author" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "diff" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "template_versions_pkey" PRIMARY KEY ("version")
);

