-- CreateIndex
CREATE INDEX "developers_org_id_idx" ON "developers"("org_id");
