-- AlterTable
ALTER TABLE "handoffs" ADD COLUMN     "friction" TEXT;

