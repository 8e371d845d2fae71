-- One narrow row per developer for the metrics that count stages (docs/concepts/storage.md): the
-- filters of a metrics query (signup instant, channel, account type, organisation) and the instants
-- the developer reached each stage of the newest funnel version they have stage rows for, in
-- milliseconds since the epoch, a column per stage (its slot). The database keeps it: triggers on
-- developers and journey_stages rewrite it whatever writes them (the journeys, the ingest, a
-- fixture, a migration), so it never disagrees with the rows it is made from.
CREATE TABLE "developer_progress" (
  "developer_id" TEXT NOT NULL,
  "signed_up_ms" BIGINT,
  "signup_week" INTEGER,
  "acquisition_channel" TEXT,
  "account_type" TEXT,
  "org_id" TEXT,
  "funnel_version" INTEGER,
  "s0" BIGINT,
  "s1" BIGINT,
  "s2" BIGINT,
  "s3" BIGINT,
  "s4" BIGINT,
  "s5" BIGINT,
  "s6" BIGINT,
  "s7" BIGINT,
  "s8" BIGINT,
  "s9" BIGINT,
  "s10" BIGINT,
  "s11" BIGINT,
  "s12" BIGINT,
  "s13" BIGINT,
  "s14" BIGINT,
  "s15" BIGINT,
  "s16" BIGINT,
  "s17" BIGINT,
  "s18" BIGINT,
  "s19" BIGINT,
  CONSTRAINT "developer_progress_pkey" PRIMARY KEY ("developer_id")
);
-- Whether any developer stands under another funnel version than the one in force (a metric then
-- checks each row's version): changes only when a developer's version does.
CREATE INDEX "developer_progress_funnel_version_idx" ON "developer_progress"("funnel_version");

-- Which column (slot) holds each stage of a funnel version, given when a stage is first recorded
-- under it; at most 20 (a funnel's most stages). A version's slots never change.
CREATE TABLE "funnel_stage_slots" (
  "funnel_version" INTEGER NOT NULL,
  "stage" TEXT NOT NULL,
  "slot" SMALLINT NOT NULL,
  CONSTRAINT "funnel_stage_slots_pkey" PRIMARY KEY ("funnel_version", "stage")
);
CREATE UNIQUE INDEX "funnel_stage_slots_funnel_version_slot_key" ON "funnel_stage_slots"("funnel_version", "slot");

-- Slots for the (version, stage) pairs that have none, under a lock: two transactions never give
-- one slot twice. Taken once per new pair, so the journeys' statements almost never wait on it.
CREATE FUNCTION onramp_assign_stage_slots(pairs JSONB) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7310155573264883571);
  INSERT INTO funnel_stage_slots (funnel_version, stage, slot)
  SELECT n.funnel_version, n.stage, n.slot
    FROM (SELECT p.funnel_version, p.stage,
                 coalesce((SELECT max(f.slot) + 1 FROM funnel_stage_slots f WHERE f.funnel_version = p.funnel_version), 0)
                   + row_number() OVER (PARTITION BY p.funnel_version ORDER BY p.stage) - 1 AS slot
            FROM jsonb_to_recordset(pairs) AS p(funnel_version INTEGER, stage TEXT)
           WHERE NOT EXISTS (SELECT 1 FROM funnel_stage_slots f WHERE f.funnel_version = p.funnel_version AND f.stage = p.stage)) n
   WHERE n.slot < 20;
END $$;

-- Milliseconds since the epoch, and the ISO week (Monday 00:00 UTC on) of an instant as weeks since
-- Monday 1970-01-05: the metrics group signups by it (progress-query.ts names it, 2026-W49).
CREATE FUNCTION onramp_epoch_ms(at TIMESTAMPTZ) RETURNS BIGINT LANGUAGE sql IMMUTABLE AS $$ SELECT (extract(epoch FROM at) * 1000)::bigint $$;
CREATE FUNCTION onramp_week(at TIMESTAMPTZ) RETURNS INTEGER LANGUAGE sql IMMUTABLE AS $$ SELECT floor((onramp_epoch_ms(at) - 345600000) / 604800000.0)::int $$;

-- A developer's stage columns: the newest funnel version they have stage rows for, and when they
-- reached each of its stages, in the column of its slot. PL/pgSQL keeps its plan for the session;
-- as an SQL function it was planned again in every statement (3× the journeys' writes).
CREATE FUNCTION onramp_stage_columns(developer TEXT) RETURNS TABLE (funnel_version INTEGER, s0 BIGINT, s1 BIGINT, s2 BIGINT, s3 BIGINT, s4 BIGINT, s5 BIGINT, s6 BIGINT, s7 BIGINT, s8 BIGINT, s9 BIGINT, s10 BIGINT, s11 BIGINT, s12 BIGINT, s13 BIGINT, s14 BIGINT, s15 BIGINT, s16 BIGINT, s17 BIGINT, s18 BIGINT, s19 BIGINT) LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY
    SELECT v.version,
           min(epoch_ms) FILTER (WHERE f.slot = 0), min(epoch_ms) FILTER (WHERE f.slot = 1), min(epoch_ms) FILTER (WHERE f.slot = 2), min(epoch_ms) FILTER (WHERE f.slot = 3),
           min(epoch_ms) FILTER (WHERE f.slot = 4), min(epoch_ms) FILTER (WHERE f.slot = 5), min(epoch_ms) FILTER (WHERE f.slot = 6), min(epoch_ms) FILTER (WHERE f.slot = 7),
           min(epoch_ms) FILTER (WHERE f.slot = 8), min(epoch_ms) FILTER (WHERE f.slot = 9), min(epoch_ms) FILTER (WHERE f.slot = 10), min(epoch_ms) FILTER (WHERE f.slot = 11),
           min(epoch_ms) FILTER (WHERE f.slot = 12), min(epoch_ms) FILTER (WHERE f.slot = 13), min(epoch_ms) FILTER (WHERE f.slot = 14), min(epoch_ms) FILTER (WHERE f.slot = 15),
           min(epoch_ms) FILTER (WHERE f.slot = 16), min(epoch_ms) FILTER (WHERE f.slot = 17), min(epoch_ms) FILTER (WHERE f.slot = 18), min(epoch_ms) FILTER (WHERE f.slot = 19)
      FROM (SELECT max(s.funnel_version) AS version FROM journey_stages s WHERE s.developer_id = developer) v
      LEFT JOIN (SELECT s.funnel_version, s.stage, onramp_epoch_ms(s.reached_at) AS epoch_ms FROM journey_stages s WHERE s.developer_id = developer) s ON s.funnel_version = v.version
      LEFT JOIN funnel_stage_slots f ON f.funnel_version = s.funnel_version AND f.stage = s.stage
     GROUP BY v.version;
END $$;

-- Rewrites these developers' stage columns. Their progress rows are locked first, in id order: a
-- transaction changing the same developer's stages waits, then reads them committed (each
-- statement here takes a new snapshot), so no row is lost.
CREATE FUNCTION onramp_refresh_progress(ids TEXT[]) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO developer_progress (developer_id) SELECT id FROM unnest(ids) AS id ORDER BY id ON CONFLICT (developer_id) DO NOTHING;
  PERFORM 1 FROM developer_progress WHERE developer_id = ANY(ids) ORDER BY developer_id FOR UPDATE;
  UPDATE developer_progress p SET (funnel_version, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15, s16, s17, s18, s19) = (SELECT * FROM onramp_stage_columns(p.developer_id))
   WHERE p.developer_id = ANY(ids);
END $$;

-- A stage row inserted, applied to its developer's row by an upsert: a newer version than the
-- row's replaces its stages; the same version lowers them; an older one changes nothing. The
-- upsert locks the row and reads it as committed, so two transactions recording stages of one
-- developer at once both land.
CREATE FUNCTION onramp_progress_of_new_stage() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  k SMALLINT;
  ms BIGINT := onramp_epoch_ms(NEW.reached_at);
BEGIN
  SELECT f.slot INTO k FROM funnel_stage_slots f WHERE f.funnel_version = NEW.funnel_version AND f.stage = NEW.stage;
  IF NOT FOUND THEN
    PERFORM onramp_assign_stage_slots(jsonb_build_array(jsonb_build_object('funnel_version', NEW.funnel_version, 'stage', NEW.stage)));
    SELECT f.slot INTO k FROM funnel_stage_slots f WHERE f.funnel_version = NEW.funnel_version AND f.stage = NEW.stage;
  END IF;
  INSERT INTO developer_progress (developer_id, funnel_version, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15, s16, s17, s18, s19)
  VALUES (NEW.developer_id, NEW.funnel_version, CASE WHEN k = 0 THEN ms END, CASE WHEN k = 1 THEN ms END, CASE WHEN k = 2 THEN ms END, CASE WHEN k = 3 THEN ms END, CASE WHEN k = 4 THEN ms END, CASE WHEN k = 5 THEN ms END, CASE WHEN k = 6 THEN ms END, CASE WHEN k = 7 THEN ms END, CASE WHEN k = 8 THEN ms END, CASE WHEN k = 9 THEN ms END, CASE WHEN k = 10 THEN ms END, CASE WHEN k = 11 THEN ms END, CASE WHEN k = 12 THEN ms END, CASE WHEN k = 13 THEN ms END, CASE WHEN k = 14 THEN ms END, CASE WHEN k = 15 THEN ms END, CASE WHEN k = 16 THEN ms END, CASE WHEN k = 17 THEN ms END, CASE WHEN k = 18 THEN ms END, CASE WHEN k = 19 THEN ms END)
  ON CONFLICT (developer_id) DO UPDATE
    SET funnel_version = GREATEST(developer_progress.funnel_version, excluded.funnel_version),
        s0 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s0 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s0, excluded.s0) ELSE developer_progress.s0 END,
        s1 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s1 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s1, excluded.s1) ELSE developer_progress.s1 END,
        s2 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s2 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s2, excluded.s2) ELSE developer_progress.s2 END,
        s3 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s3 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s3, excluded.s3) ELSE developer_progress.s3 END,
        s4 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s4 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s4, excluded.s4) ELSE developer_progress.s4 END,
        s5 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s5 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s5, excluded.s5) ELSE developer_progress.s5 END,
        s6 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s6 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s6, excluded.s6) ELSE developer_progress.s6 END,
        s7 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s7 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s7, excluded.s7) ELSE developer_progress.s7 END,
        s8 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s8 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s8, excluded.s8) ELSE developer_progress.s8 END,
        s9 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s9 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s9, excluded.s9) ELSE developer_progress.s9 END,
        s10 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s10 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s10, excluded.s10) ELSE developer_progress.s10 END,
        s11 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s11 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s11, excluded.s11) ELSE developer_progress.s11 END,
        s12 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s12 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s12, excluded.s12) ELSE developer_progress.s12 END,
        s13 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s13 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s13, excluded.s13) ELSE developer_progress.s13 END,
        s14 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s14 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s14, excluded.s14) ELSE developer_progress.s14 END,
        s15 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s15 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s15, excluded.s15) ELSE developer_progress.s15 END,
        s16 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s16 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s16, excluded.s16) ELSE developer_progress.s16 END,
        s17 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s17 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s17, excluded.s17) ELSE developer_progress.s17 END,
        s18 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s18 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s18, excluded.s18) ELSE developer_progress.s18 END,
        s19 = CASE WHEN excluded.funnel_version > coalesce(developer_progress.funnel_version, -1) THEN excluded.s19 WHEN excluded.funnel_version = developer_progress.funnel_version THEN LEAST(developer_progress.s19, excluded.s19) ELSE developer_progress.s19 END;
  RETURN NULL;
END $$;

-- Stage rows deleted (`changed`): their developers' rows made again from what is left.
CREATE FUNCTION onramp_progress_of_deleted_stages() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
  PERFORM onramp_refresh_progress(ARRAY(SELECT DISTINCT developer_id FROM changed));
  RETURN NULL;
END $$;

-- An updated stage row (made again from the developer's stage rows: an update may raise an
-- instant). Row triggers, here and below: PostgreSQL plans a statement trigger's queries on its
-- transition table again at every call, which made the journeys' writes 1.7× as slow; and with
-- a WHEN, the journeys' statements (a developer's current stage, a stage row lowered to what it
-- was) call nothing.
CREATE FUNCTION onramp_progress_of_stage_row() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM funnel_stage_slots f WHERE f.funnel_version = NEW.funnel_version AND f.stage = NEW.stage) THEN
    PERFORM onramp_assign_stage_slots(jsonb_build_array(jsonb_build_object('funnel_version', NEW.funnel_version, 'stage', NEW.stage)));
  END IF;
  PERFORM onramp_refresh_progress(ARRAY(SELECT DISTINCT id FROM unnest(ARRAY[OLD.developer_id, NEW.developer_id]) AS id));
  RETURN NULL;
END $$;

-- A developer inserted, removed, or whose signup changed.
CREATE FUNCTION onramp_progress_of_developer_row() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM developer_progress WHERE developer_id = OLD.id;
    RETURN NULL;
  END IF;
  INSERT INTO developer_progress (developer_id, signed_up_ms, signup_week, acquisition_channel, account_type, org_id)
  VALUES (NEW.id, onramp_epoch_ms(NEW.signed_up_at), onramp_week(NEW.signed_up_at), NEW.acquisition_channel, NEW.account_type, NEW.org_id)
  ON CONFLICT (developer_id) DO UPDATE
    SET signed_up_ms = excluded.signed_up_ms, signup_week = excluded.signup_week, acquisition_channel = excluded.acquisition_channel, account_type = excluded.account_type, org_id = excluded.org_id;
  RETURN NULL;
END $$;

-- What is stored already: every developer with a row or stage rows, each written once.
SELECT onramp_assign_stage_slots(jsonb_agg(jsonb_build_object('funnel_version', funnel_version, 'stage', stage)))
  FROM (SELECT DISTINCT funnel_version, stage FROM journey_stages) pairs HAVING count(*) > 0;
INSERT INTO developer_progress (developer_id, signed_up_ms, signup_week, acquisition_channel, account_type, org_id, funnel_version, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15, s16, s17, s18, s19)
SELECT ids.id, onramp_epoch_ms(d.signed_up_at), onramp_week(d.signed_up_at), d.acquisition_channel, d.account_type, d.org_id, c.*
  FROM (SELECT id FROM developers UNION SELECT developer_id FROM journey_stages) ids
  LEFT JOIN developers d ON d.id = ids.id
  CROSS JOIN LATERAL onramp_stage_columns(ids.id) c;

CREATE TRIGGER journey_stages_progress_insert AFTER INSERT ON journey_stages FOR EACH ROW EXECUTE FUNCTION onramp_progress_of_new_stage();
CREATE TRIGGER journey_stages_progress_update AFTER UPDATE ON journey_stages FOR EACH ROW
  WHEN ((OLD.developer_id, OLD.funnel_version, OLD.stage, OLD.reached_at) IS DISTINCT FROM (NEW.developer_id, NEW.funnel_version, NEW.stage, NEW.reached_at))
  EXECUTE FUNCTION onramp_progress_of_stage_row();
CREATE TRIGGER journey_stages_progress_delete AFTER DELETE ON journey_stages
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION onramp_progress_of_deleted_stages();
CREATE TRIGGER developers_progress_insert AFTER INSERT ON developers FOR EACH ROW EXECUTE FUNCTION onramp_progress_of_developer_row();
CREATE TRIGGER developers_progress_update AFTER UPDATE ON developers FOR EACH ROW
  WHEN ((OLD.signed_up_at, OLD.acquisition_channel, OLD.account_type, OLD.org_id) IS DISTINCT FROM (NEW.signed_up_at, NEW.acquisition_channel, NEW.account_type, NEW.org_id))
  EXECUTE FUNCTION onramp_progress_of_developer_row();
CREATE TRIGGER developers_progress_delete AFTER DELETE ON developers FOR EACH ROW EXECUTE FUNCTION onramp_progress_of_developer_row();
