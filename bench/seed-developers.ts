import type pg from 'pg';

/**
 * Seeds `count` synthetic developers straight into the read model (not through the journeys): a
 * signup spread over the last 120 days, stages reached with drop-off like the funnel reference model's (docs/concepts/funnel.md) at plausible
 * delays, first-session API requests (SDK or raw, some 401/400/429), nudge decisions (sent, holdout)
 * and handoff cases for some. A third belong to organisations, one for every 50 developers
 * (about 17 members each). `requests` api.request events in all (default: none past the first
 * sessions): the rest of them come from the developers in active integration, from reaching it
 * until now, stored as Onramp stores them (docs/concepts/storage.md): raw while the developer is
 * within the raw-request window (90 days after signup, or 30 after production), counted into the
 * daily rollups after it. Deterministic (hash of the developer number), set-based SQL: 100,000
 * developers take well under a minute. For measuring the metrics endpoints at scale, not a test.
 */
export async function seedDevelopers(pool: pg.Pool, count: number, requests = 0): Promise<void> {
  const q = (text: string) => pool.query(text, text.includes('$1') ? [count] : []);
  // seed_u(g, k): a stable pseudo-random number in [0, 1) for developer g and purpose k (< 1000; dropped at the end).
  await q(`CREATE OR REPLACE FUNCTION seed_u(g int, k int) RETURNS float8 LANGUAGE sql IMMUTABLE AS
    $$ SELECT ((hashint8(g::int8 * 1000 + k) & 2147483647)::float8 / 2147483648) $$`);
  // seed_r(g, k): the same for developer g's k-th request (negative keys: apart from seed_u's, however many requests).
  await q(`CREATE OR REPLACE FUNCTION seed_r(g int, k int) RETURNS float8 LANGUAGE sql IMMUTABLE AS
    $$ SELECT ((hashint8(-(g::int8 * 1000000 + k)) & 2147483647)::float8 / 2147483648) $$`);
  await q(`INSERT INTO developers (id, email, account_type, org_id, acquisition_channel, timezone, signed_up_at, signup_event_id)
    SELECT 'seed_' || g, 'seed' || g || '@example.com',
      CASE WHEN seed_u(g, 1) < 0.35 THEN 'organization' ELSE 'individual' END,
      CASE WHEN seed_u(g, 1) < 0.35 THEN 'org_' || (g % greatest($1::int / 50, 1)) END,
      (ARRAY['organic_search', 'listing_site', 'paid', 'referral', 'direct'])[1 + floor(seed_u(g, 2) * 5)::int],
      'UTC', now() - seed_u(g, 3) * interval '120 days', 'seed_signup_' || g
    FROM generate_series(1, $1) g`);
  // Each stage after signup with a probability and a delay after the previous one (hours).
  await q(`WITH d AS (
      SELECT g, signed_up_at AS t0 FROM generate_series(1, $1) g JOIN developers ON id = 'seed_' || g),
    s AS (
      SELECT g, t0,
        t0 + seed_u(g, 10) * interval '2 hours' AS key_at, seed_u(g, 11) < 0.85 AS has_key,
        seed_u(g, 12) < 0.55 AS has_call, seed_u(g, 13) * seed_u(g, 13) * interval '240 hours' AS call_after,
        seed_u(g, 14) < 0.6 AS has_quickstart, seed_u(g, 15) < 0.5 AS has_active, seed_u(g, 16) * interval '20 days' AS active_after,
        seed_u(g, 17) < 0.4 AS has_live, seed_u(g, 18) * interval '45 days' AS live_after
      FROM d),
    stages AS (
      SELECT g, 'account_created' AS stage, t0 AS at FROM s
      UNION ALL SELECT g, 'credential_provisioned', key_at FROM s WHERE has_key
      UNION ALL SELECT g, 'first_api_call', key_at + call_after FROM s WHERE has_key AND has_call
      UNION ALL SELECT g, 'first_integration_milestone', key_at + call_after + interval '1 hour' FROM s WHERE has_key AND has_call AND has_quickstart
      UNION ALL SELECT g, 'active_integration', key_at + call_after + active_after FROM s WHERE has_key AND has_call AND has_active
      UNION ALL SELECT g, 'production_deployment', key_at + call_after + active_after + live_after FROM s WHERE has_key AND has_call AND has_active AND has_live)
    INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id)
    SELECT 'seed_' || g, stage, at, 'seed_' || stage || '_' || g FROM stages WHERE at <= now()`);
  await q(`UPDATE developers d SET stage = l.stage, stage_at = l.reached_at,
      stage_rank = array_position(ARRAY['intent','account_created','credential_provisioned','first_api_call','first_integration_milestone','active_integration','production_deployment'], l.stage) - 1
    FROM (SELECT DISTINCT ON (developer_id) developer_id, stage, reached_at FROM journey_stages WHERE developer_id LIKE 'seed\\_%'
          ORDER BY developer_id, array_position(ARRAY['intent','account_created','credential_provisioned','first_api_call','first_integration_milestone','active_integration','production_deployment'], stage) DESC) l
    WHERE d.id = l.developer_id`);
  // Six requests in each calling developer's first session, on up to four endpoints.
  await q(`INSERT INTO events (id, type, developer_id, occurred_at, endpoint, status, mode, sdk, properties)
    SELECT 'seed_req_' || g || '_' || n, 'api.request', 'seed_' || g, s.reached_at + n * interval '20 minutes',
      '/v1/resource' || floor(seed_u(g, 20 + n) * (1 + seed_u(g, 19) * 4))::int,
      CASE WHEN seed_u(g, 30 + n) < 0.06 THEN 401 WHEN seed_u(g, 30 + n) < 0.10 THEN 400 WHEN seed_u(g, 30 + n) < 0.12 THEN 429 WHEN seed_u(g, 30 + n) < 0.13 THEN 500 ELSE 200 END,
      'test', seed_u(g, 40) < 0.6, '{}'::jsonb
    FROM generate_series(1, $1) g JOIN journey_stages s ON s.developer_id = 'seed_' || g AND s.stage = 'first_api_call', generate_series(0, 5) n`);
  // The active integrations' traffic past the first sessions: each active developer gets a share
  // (0.2–1.8× the mean) spread evenly from reaching the stage until now, on their endpoints.
  const traffic = (text: string) => pool.query(text, [requests]);
  await traffic(`CREATE UNLOGGED TABLE seed_traffic AS
    SELECT t.*, floor(greatest($1::bigint - fs.n, 0)::float8 / count(*) OVER () * (0.2 + 1.6 * seed_u(t.g, 70)))::int AS n
    FROM (SELECT substr(a.developer_id, 6)::int AS g, a.developer_id, a.reached_at AS active_at,
            least(d.signed_up_at + interval '90 days', p.reached_at + interval '30 days') AS raw_until,
            1 + floor(seed_u(substr(a.developer_id, 6)::int, 19) * 4)::int AS endpoints, seed_u(substr(a.developer_id, 6)::int, 40) < 0.6 AS sdk
          FROM journey_stages a JOIN developers d ON d.id = a.developer_id
          LEFT JOIN journey_stages p ON p.developer_id = a.developer_id AND p.stage = 'production_deployment'
          WHERE a.stage = 'active_integration' AND a.developer_id LIKE 'seed\\_%') t,
         (SELECT count(*) AS n FROM events WHERE type = 'api.request') fs`);
  const requestsOf = `SELECT g, developer_id, k, at, raw_until, sdk, '/v1/resource' || floor(seed_r(g, 200000 + k) * endpoints)::int AS endpoint,
      CASE WHEN seed_r(g, 400000 + k) < 0.02 THEN 401 WHEN seed_r(g, 400000 + k) < 0.04 THEN 400 WHEN seed_r(g, 400000 + k) < 0.05 THEN 429 WHEN seed_r(g, 400000 + k) < 0.052 THEN 500 ELSE 200 END AS status
    FROM (SELECT t.*, k, t.active_at + (now() - t.active_at) * seed_r(t.g, k) AS at FROM seed_traffic t, generate_series(1, t.n) k) r`;
  await q(`INSERT INTO events (id, type, developer_id, occurred_at, endpoint, status, mode, sdk, properties, kept)
    SELECT 'seed_t_' || g || '_' || k, 'api.request', developer_id, at, endpoint, status, 'test', sdk, '{}'::jsonb, false
    FROM (${requestsOf}) r WHERE raw_until IS NULL OR at < raw_until`);
  await q(`INSERT INTO request_rollups (developer_id, day, endpoint, status_class, sdk, requests, first_at, last_at)
    SELECT developer_id, (at AT TIME ZONE 'UTC')::date, endpoint, status / 100, sdk, count(*), min(at), max(at)
    FROM (${requestsOf}) r WHERE at >= raw_until GROUP BY 1, 2, 3, 4, 5`);
  await q(`DROP TABLE seed_traffic`);
  // Each developer's per-endpoint totals: their raw requests and their rollups.
  await q(`INSERT INTO developer_endpoints (developer_id, endpoint, requests, ok_requests, status_400, status_401, status_429, status_4xx, status_5xx, sdk_requests, first_at, first_ok_at, last_at)
    SELECT developer_id, endpoint, sum(n), coalesce(sum(n) FILTER (WHERE status < 300), 0), coalesce(sum(n) FILTER (WHERE status = 400), 0), coalesce(sum(n) FILTER (WHERE status = 401), 0),
      coalesce(sum(n) FILTER (WHERE status = 429), 0), coalesce(sum(n) FILTER (WHERE status BETWEEN 400 AND 499), 0), coalesce(sum(n) FILTER (WHERE status >= 500), 0),
      coalesce(sum(n) FILTER (WHERE sdk), 0), min(first_at), min(first_at) FILTER (WHERE status < 300), max(last_at)
    FROM (SELECT developer_id, endpoint, status, sdk, count(*) AS n, min(occurred_at) AS first_at, max(occurred_at) AS last_at
            FROM events WHERE type = 'api.request' AND developer_id LIKE 'seed\\_%' GROUP BY 1, 2, 3, 4
          UNION ALL
          -- A rollup keeps the status class: its requests count as that class's first status (200, 400, 500).
          SELECT developer_id, endpoint, status_class * 100, sdk, requests, first_at, last_at FROM request_rollups WHERE developer_id LIKE 'seed\\_%') x
    GROUP BY developer_id, endpoint`);
  // A nudge for a third of those who got a key and stopped there a day; a tenth of them held out.
  await q(`INSERT INTO nudge_decisions (developer_id, decision_key, nudge_key, rule_id, rule_version, outcome, reason, template, segment, inputs, decided_at)
    SELECT developer_id, developer_id || '/seed1', 'first-call-help#1', 'first-call-help', 1,
      CASE WHEN seed_u(g, 50) < 0.1 THEN 'skipped' ELSE 'sent' END, CASE WHEN seed_u(g, 50) < 0.1 THEN 'holdout' END, 'first-call-help',
      '{"engagement":"new","channel":null,"accountType":null}'::jsonb,
      jsonb_build_object('stage', 'credential_provisioned', 'holdout', seed_u(g, 50) < 0.1), reached_at + interval '24 hours'
    FROM (SELECT developer_id, reached_at, substr(developer_id, 6)::int AS g FROM journey_stages WHERE stage = 'credential_provisioned' AND developer_id LIKE 'seed\\_%') k
    WHERE seed_u(g, 51) < 0.33 AND reached_at + interval '24 hours' <= now()`);
  // Each sent decision's email, opened by two in five (by Message-ID), a tenth of those answering "was this helpful?".
  await q(`INSERT INTO emails (id, developer_id, rule_id, rule_version, template, to_address, subject, text, html, transport, status, message_id, sent_at)
    SELECT developer_id || '/' || nudge_key, developer_id, rule_id, rule_version, template, developer_id || '@example.com', 'Make your first API call', '', '', 'outbox', 'sent',
      '<' || developer_id || '@seed>', decided_at
    FROM nudge_decisions WHERE decision_key LIKE 'seed\\_%/seed1' AND outcome = 'sent'`);
  await q(`INSERT INTO events (id, type, developer_id, occurred_at, properties)
    SELECT 'seed_open_' || developer_id, 'email.opened', developer_id, decided_at + interval '3 hours', jsonb_build_object('messageId', '<' || developer_id || '@seed>')
    FROM nudge_decisions WHERE decision_key LIKE 'seed\\_%/seed1' AND outcome = 'sent' AND seed_u(substr(developer_id, 6)::int, 52) < 0.4`);
  await q(`INSERT INTO events (id, type, developer_id, occurred_at, properties)
    SELECT 'seed_feedback_' || developer_id, 'email.feedback', developer_id, occurred_at + interval '1 minute',
      jsonb_build_object('messageId', properties->>'messageId', 'helpful', seed_u(substr(developer_id, 6)::int, 53) < 0.7)
    FROM events WHERE id LIKE 'seed\\_open\\_%' AND seed_u(substr(developer_id, 6)::int, 54) < 0.1`);
  // A handoff case for one in twenty-five who got a key, some claimed and resolved (most of those with a friction).
  await q(`INSERT INTO handoffs (id, developer_id, status, criterion, owner, level, opened_at, claimed_at, closed_at, outcome, friction, sla_breached, revision, view)
    SELECT developer_id || '/h1', developer_id, st, 'stall:no-first-call', CASE WHEN st <> 'open' THEN 'U0AGENT' END, 1, opened,
      CASE WHEN st <> 'open' THEN opened + seed_u(g, 61) * interval '6 hours' END,
      CASE WHEN st IN ('resolved', 'returned') THEN opened + seed_u(g, 62) * interval '3 days' END,
      CASE WHEN st = 'resolved' THEN 'unblocked' END,
      CASE WHEN st = 'resolved' AND seed_u(g, 65) < 0.85
           THEN (ARRAY['authentication_confusion', 'authentication_confusion', 'missing_docs', 'rate_limits', 'sdk_gap', 'not_a_fit'])[1 + floor(seed_u(g, 66) * 6)::int] END,
      seed_u(g, 63) < 0.2, 3, '{}'::jsonb
    FROM (SELECT developer_id, substr(developer_id, 6)::int AS g, reached_at + interval '7 days' AS opened,
            (ARRAY['open', 'claimed', 'resolved', 'resolved', 'returned'])[1 + floor(seed_u(substr(developer_id, 6)::int, 60) * 5)::int] AS st
          FROM journey_stages WHERE stage = 'credential_provisioned' AND developer_id LIKE 'seed\\_%') k
    WHERE seed_u(g, 64) < 0.04 AND opened <= now()`);
  // The read model of each case, as the API presents it (the journey writes it at each step).
  const iso = (column: string) => `to_char((${column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  await q(`UPDATE handoffs SET view = jsonb_build_object(
      'id', id, 'developerId', developer_id, 'status', status, 'criterion', criterion,
      'reason', 'no first api call 7 days after credential provisioned', 'policyVersion', 1, 'level', level, 'owner', owner,
      'openedAt', ${iso('opened_at')}, 'claimedAt', ${iso('claimed_at')},
      'claimDueAt', CASE WHEN status = 'open' THEN ${iso("opened_at + interval '4 hours'")} END,
      'resolveDueAt', ${iso("opened_at + interval '3 days'")}, 'snoozedUntil', NULL,
      'breaches', CASE WHEN sla_breached THEN '["claim"]'::jsonb ELSE '[]'::jsonb END, 'closedAt', ${iso('closed_at')},
      'outcome', outcome, 'outcomes', '["unblocked", "not-a-fit", "bug-filed", "no-response"]'::jsonb, 'friction', friction),
    due_at = CASE WHEN status = 'open' THEN opened_at + interval '4 hours' WHEN status = 'claimed' THEN opened_at + interval '3 days' END
    WHERE developer_id LIKE 'seed\\_%'`);
  await q(`INSERT INTO handoff_steps (step_key, handoff_id, developer_id, step, at, detail, snapshot)
    SELECT id || '/1', id, developer_id, 'escalated', opened_at, '{}'::jsonb,
      jsonb_build_object('stage', (SELECT js.stage FROM journey_stages js WHERE js.developer_id = h.developer_id AND js.reached_at <= h.opened_at ORDER BY js.reached_at DESC LIMIT 1))
    FROM handoffs h WHERE developer_id LIKE 'seed\\_%'`);
  await pool.query('DROP FUNCTION seed_u(int, int), seed_r(int, int)');
  await pool.query('ANALYZE');
}
