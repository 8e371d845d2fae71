-- A claim holds back a developer's newer rows while an older one is out: found by developer, not by a scan.
CREATE INDEX "outbox_signals_developer_id_id_idx" ON "outbox_signals"("developer_id", "id");
