import type pg from 'pg';

const HOUR = 3_600_000;

/**
 * A cohort's history for the risk criteria's tests, straight into the stage rows: 100 organic
 * individuals got a key at `keyAt`; 60 made their first call 12 h later, 40 never did. With the
 * stage's window of 7 d (the no-first-call stall), a developer still without a call has a risk of
 * about 0.4 before 12 h in credential_provisioned and 1 from 12 h: a threshold of 0.8 is crossed
 * at 12 h (in every segment: theirs, or the stage's overall curve, is this cohort's).
 */
export async function seedRiskCohort(pool: pg.Pool, keyAt: number): Promise<void> {
  const ids = Array.from({ length: 100 }, (_, i) => `risk_cohort_${i}`);
  await pool.query(`INSERT INTO developers (id, account_type, acquisition_channel, signed_up_at) SELECT unnest($1::text[]), 'individual', 'organic_search', $2`, [
    ids,
    new Date(keyAt).toISOString(),
  ]);
  const rows = ids.flatMap((id, i) => [[id, 'account_created', keyAt], [id, 'credential_provisioned', keyAt], ...(i < 60 ? [[id, 'first_api_call', keyAt + 12 * HOUR]] : [])]) as [
    string,
    string,
    number,
  ][];
  await pool.query(
    `INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id, late)
     SELECT d, s, to_timestamp(t / 1000.0), d || '-' || s, false FROM unnest($1::text[], $2::text[], $3::float8[]) AS r(d, s, t)`,
    [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
  );
}
