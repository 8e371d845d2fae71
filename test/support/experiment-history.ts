import type pg from 'pg';

const DAY = 86_400_000;

export interface SeededArm {
  variant: string;
  /** Developers assigned to it (one `sent` decision each). */
  n: number;
  /** Of them, reached the goal a day after assignment. */
  converted: number;
}

/**
 * An experiment's history straight into the tables the experiment report reads: per arm, `n`
 * developers assigned (a `sent` decision of the rule) at `assignedAt`, the first `converted` of
 * them reaching `goal` a day later. Ids are `<prefix>-<variant>-<i>`.
 */
export async function seedExperimentArms(
  pool: pg.Pool,
  {
    prefix,
    experimentId,
    ruleId,
    ruleVersion,
    goal,
    assignedAt,
    arms,
  }: { prefix: string; experimentId: string; ruleId: string; ruleVersion: number; goal: string; assignedAt: number; arms: readonly SeededArm[] },
): Promise<void> {
  const at = new Date(assignedAt).toISOString();
  const converted = new Date(assignedAt + DAY).toISOString();
  for (const arm of arms) {
    const ids = Array.from({ length: arm.n }, (_, i) => `${prefix}-${arm.variant}-${i}`);
    await pool.query(`INSERT INTO developers (id, account_type, acquisition_channel, signed_up_at) SELECT unnest($1::text[]), 'individual', 'organic_search', $2`, [ids, at]);
    const stages = ids.flatMap((id, i) => [[id, 'account_created', at], ...(i < arm.converted ? [[id, goal, converted]] : [])]);
    await pool.query(
      `INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id, late)
       SELECT d, s, t::timestamptz, d || '-' || s, false FROM unnest($1::text[], $2::text[], $3::text[]) AS r(d, s, t)`,
      [stages.map((r) => r[0]), stages.map((r) => r[1]), stages.map((r) => r[2])],
    );
    await pool.query(
      `INSERT INTO nudge_decisions (developer_id, decision_key, nudge_key, rule_id, rule_version, outcome, reason, decided_at, experiment_id, variant_id, segment, inputs)
       SELECT d, d || '/seeded', $2 || '#1', $2, $3, 'sent', NULL, $4, $5, $6, '{}', '{}' FROM unnest($1::text[]) AS d`,
      [ids, ruleId, ruleVersion, at, experimentId, arm.variant],
    );
  }
}
