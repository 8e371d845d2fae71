-- CreateTable
CREATE TABLE "handoff_notes" (
    "id" TEXT NOT NULL,
    "handoff_id" TEXT NOT NULL,
    "developer_id" TEXT NOT NULL,
    "author" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "handoff_notes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "handoff_notes_developer_id_idx" ON "handoff_notes"("developer_id");
