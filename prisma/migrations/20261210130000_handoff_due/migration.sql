-- The queue's order: the next deadline of a case still open (SlaState.dueAt, src/cases/case-context.ts).
ALTER TABLE "handoffs" ADD COLUMN     "due_at" TIMESTAMPTZ(3);

UPDATE "handoffs" SET "due_at" = CASE "status"
    WHEN 'snoozed' THEN ("view"->>'snoozedUntil')::timestamptz
    WHEN 'open' THEN COALESCE(("view"->>'claimDueAt')::timestamptz, ("view"->>'resolveDueAt')::timestamptz)
    WHEN 'claimed' THEN ("view"->>'resolveDueAt')::timestamptz
  END;

-- CreateIndex
CREATE INDEX "handoffs_status_due_at_idx" ON "handoffs"("status", "due_at");
