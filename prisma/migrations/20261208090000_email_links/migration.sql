-- AlterTable
ALTER TABLE "emails" ADD COLUMN     "links" TEXT[] DEFAULT ARRAY[]::TEXT[];
