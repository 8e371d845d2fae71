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
-- reached each of its stages, in the column of its slot.
CREATE FUNCTION onramp_stage_columns(developer TEXT) RETURNS TABLE (funnel_version INTEGER, s0 BIGINT, s1 BIGINT, s2 BIGINT, s3 BIGINT, s4 BIGINT, s5 BIGINT, s6 BIGINT, s7 BIGINT, s8 BIGINT, s9 BIGINT, s10 BIGINT, s11 BIGINT, s12 BIGINT, s13 BIGINT, s14 BIGINT, s15 BIGINT, s16 BIGINT, s17 BIGINT, s18 BIGINT, s19 BIGINT) LANGUAGE sql STABLE AS $$
  SELECT v.version,
         min(epoch_ms) FILTER (WHERE f.slot = 0), min(epoch_ms) FILTER (WHERE f.slot = 1), min(epoch_ms) FILTER (WHERE f.slot = 2), min(epoch_ms) FILTER (WHERE f.slot = 3),
         min(epoch_ms) FILTER (WHERE f.slot = 4), min(epoch_ms) FILTER (WHERE f.slot = 5), min(epoch_ms) FILTER (WHERE f.slot = 6), min(epoch_ms) FILTER (WHERE f.slot = 7),
         min(epoch_ms) FILTER (WHERE f.slot = 8), min(epoch_ms) FILTER (WHERE f.slot = 9), min(epoch_ms) FILTER (WHERE f.slot = 10), min(epoch_ms) FILTER (WHERE f.slot = 11),
         min(epoch_ms) FILTER (WHERE f.slot = 12), min(epoch_ms) FILTER (WHERE f.slot = 13), min(epoch_ms) FILTER (WHERE f.slot = 14), min(epoch_ms) FILTER (WHERE f.slot = 15),
         min(epoch_ms) FILTER (WHERE f.slot = 16), min(epoch_ms) FILTER (WHERE f.slot = 17), min(epoch_ms) FILTER (WHERE f.slot = 18), min(epoch_ms) FILTER (WHERE f.slot = 19)
    FROM (SELECT max(s.funnel_version) AS version FROM journey_stages s WHERE s.developer_id = developer) v
    LEFT JOIN (SELECT s.funnel_version, s.stage, onramp_epoch_ms(s.reached_at) AS epoch_ms FROM journey_stages s WHERE s.developer_id = developer) s ON s.funnel_version = v.version
    LEFT JOIN funnel_stage_slots f ON f.funnel_version = s.funnel_version AND f.stage = s.stage
   GROUP BY v.version
$$;

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

-- A statement on journey_stages, its rows as `changed` (the new ones; the old on DELETE).
CREATE FUNCTION onramp_progress_of_stages() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  ids TEXT[] := ARRAY(SELECT DISTINCT developer_id FROM changed);
  pairs JSONB;
BEGIN
  -- An upsert fires both its INSERT and its UPDATE statements' triggers, one of them often empty.
  IF cardinality(ids) = 0 THEN RETURN NULL; END IF;
  IF TG_OP <> 'DELETE' THEN
    SELECT jsonb_agg(jsonb_build_object('funnel_version', c.funnel_version, 'stage', c.stage)) INTO pairs
      FROM (SELECT DISTINCT funnel_version, stage FROM changed) c
     WHERE NOT EXISTS (SELECT 1 FROM funnel_stage_slots f WHERE f.funnel_version = c.funnel_version AND f.stage = c.stage);
    IF pairs IS NOT NULL THEN PERFORM onramp_assign_stage_slots(pairs); END IF;
  END IF;
  PERFORM onramp_refresh_progress(ids);
  RETURN NULL;
END $$;

-- A statement on developers: the filters follow the signup. An UPDATE that changes none of them
-- (the journeys' current stage, the ingest's rows for known developers) writes nothing.
CREATE FUNCTION onramp_progress_of_developers() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM developer_progress p USING before b WHERE p.developer_id = b.id;
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO developer_progress (developer_id, signed_up_ms, signup_week, acquisition_channel, account_type, org_id)
    SELECT c.id, onramp_epoch_ms(c.signed_up_at), onramp_week(c.signed_up_at), c.acquisition_channel, c.account_type, c.org_id
      FROM changed c ORDER BY c.id
    ON CONFLICT (developer_id) DO UPDATE
      SET signed_up_ms = excluded.signed_up_ms, signup_week = excluded.signup_week, acquisition_channel = excluded.acquisition_channel, account_type = excluded.account_type, org_id = excluded.org_id;
  ELSE
    INSERT INTO developer_progress (developer_id, signed_up_ms, signup_week, acquisition_channel, account_type, org_id)
    SELECT c.id, onramp_epoch_ms(c.signed_up_at), onramp_week(c.signed_up_at), c.acquisition_channel, c.account_type, c.org_id
      FROM changed c JOIN before b ON b.id = c.id
     WHERE (b.signed_up_at, b.acquisition_channel, b.account_type, b.org_id) IS DISTINCT FROM (c.signed_up_at, c.acquisition_channel, c.account_type, c.org_id)
     ORDER BY c.id
    ON CONFLICT (developer_id) DO UPDATE
      SET signed_up_ms = excluded.signed_up_ms, signup_week = excluded.signup_week, acquisition_channel = excluded.acquisition_channel, account_type = excluded.account_type, org_id = excluded.org_id;
  END IF;
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

-- Transition tables allow one event per trigger: three on each table.
CREATE TRIGGER journey_stages_progress_insert AFTER INSERT ON journey_stages
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION onramp_progress_of_stages();
CREATE TRIGGER journey_stages_progress_update AFTER UPDATE ON journey_stages
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION onramp_progress_of_stages();
CREATE TRIGGER journey_stages_progress_delete AFTER DELETE ON journey_stages
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION onramp_progress_of_stages();
CREATE TRIGGER developers_progress_insert AFTER INSERT ON developers
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION onramp_progress_of_developers();
CREATE TRIGGER developers_progress_update AFTER UPDATE ON developers
  REFERENCING OLD TABLE AS before NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION onramp_progress_of_developers();
CREATE TRIGGER developers_progress_delete AFTER DELETE ON developers
  REFERENCING OLD TABLE AS before FOR EACH STATEMENT EXECUTE FUNCTION onramp_progress_of_developers();
