import type pg from 'pg';
import { durationMs } from '../rules/duration.ts';
import type { Experiment, RulesDocument } from '../rules/rules-schema.ts';
import { stageRowsSql } from './metrics-query.ts';
import { twoProportionZTest, wilsonInterval, type Interval } from './proportion-stats.ts';

/**
 * Experiment results (docs/concepts/nudges.md#experiments): per arm (each variant, and the holdout
 * as control) who was assigned, sent, and converted to the goal stage within the window, with a
 * Wilson interval, and a two-proportion z-test of each arm against the baseline (the holdout when
 * it has measured developers, else the first variant).
 *
 * A developer's arm and assignment time are those of their first decision recorded for the
 * experiment (every decision of an experiment rule past its segment filter carries the arm,
 * whatever its outcome: intention to treat). Only developers whose window has closed by `asOf` are
 * measured; the others are `pending`, so a recent arm is not pulled down by windows still open.
 */

/** Below this many measured developers in an arm of a comparison, the comparison carries a warning. */
export const MIN_MEASURED_PER_ARM = 30;
/** …and below this many expected conversions (or non-conversions) in an arm, at the pooled rate. */
export const MIN_EXPECTED_COUNT = 5;
export const HOLDOUT_ARM = 'holdout';

export interface ExperimentDefinition {
  experiment: Experiment;
  ruleId: string;
  /** The newest rules version that defines it. */
  rulesVersion: number;
  /** Defined by the rules in force (false: ended, e.g. a winner was promoted). */
  inForce: boolean;
}

export interface ArmFigures {
  /** A variant id, or `holdout`. */
  arm: string;
  variant: { id: string; template: string | null; after: string | null; weight: number } | null;
  assigned: number;
  sent: number;
  /** Assigned, window closed at asOf: the denominator. */
  measured: number;
  /** Assigned, window still open at asOf: left out. */
  pending: number;
  converted: number;
  rate: number | null;
  ci95: Interval | null;
  /** Against the baseline arm; null for the baseline itself. */
  comparison: { against: string; difference: number | null; z: number | null; pValue: number | null; significant: boolean; warning: string | null } | null;
}

export interface ExperimentReport {
  id: string;
  ruleId: string;
  goal: string;
  window: string;
  inForce: boolean;
  rulesVersion: number;
  baseline: string;
  arms: ArmFigures[];
  /** Set while any comparison's sample is too small to trust its test. */
  warning: string | null;
}

/** Every experiment the stored rules versions define, each as its newest version defines it. */
export async function experimentDefinitions(pool: pg.Pool): Promise<ExperimentDefinition[]> {
  const { rows } = await pool.query<{ version: number; document: RulesDocument }>('SELECT version, document FROM rule_versions ORDER BY version DESC');
  const found = new Map<string, ExperimentDefinition>();
  for (const [index, { version, document }] of rows.entries()) {
    for (const rule of document.rules) {
      if (!('experiment' in rule.action) || found.has(rule.action.experiment.id)) continue;
      found.set(rule.action.experiment.id, { experiment: rule.action.experiment, ruleId: rule.id, rulesVersion: version, inForce: index === 0 });
    }
  }
  return [...found.values()].sort((a, b) => Number(b.inForce) - Number(a.inForce) || a.experiment.id.localeCompare(b.experiment.id));
}

export async function experimentReport(pool: pg.Pool, definition: ExperimentDefinition, funnelVersion: number, asOf: Date): Promise<ExperimentReport> {
  const { experiment } = definition;
  const { rows } = await pool.query<{ variant_id: string | null; assigned: string; sent: string; measured: string; converted: string }>(
    `WITH first AS (
       SELECT DISTINCT ON (developer_id) developer_id, variant_id, decided_at AS assigned_at
         FROM nudge_decisions WHERE experiment_id = $2 AND decided_at <= $1
        ORDER BY developer_id, decided_at, id),
     sent AS (SELECT DISTINCT developer_id FROM nudge_decisions WHERE experiment_id = $2 AND outcome = 'sent' AND decided_at <= $1),
     arms AS (
       SELECT f.variant_id, s.developer_id IS NOT NULL AS sent, f.assigned_at + $3::double precision * interval '1 millisecond' <= $1 AS measured,
              EXISTS (SELECT 1 FROM journey_stages js
                       WHERE js.developer_id = f.developer_id AND js.stage = $4 AND ${stageRowsSql('js', funnelVersion)}
                         AND js.reached_at <= f.assigned_at + $3::double precision * interval '1 millisecond') AS converted
         FROM first f LEFT JOIN sent s USING (developer_id))
     SELECT variant_id, count(*) AS assigned, count(*) FILTER (WHERE sent) AS sent, count(*) FILTER (WHERE measured) AS measured,
            count(*) FILTER (WHERE measured AND converted) AS converted
       FROM arms GROUP BY variant_id`,
    [asOf, experiment.id, durationMs(experiment.window), experiment.goal],
  );
  const counts = new Map(rows.map((r) => [r.variant_id ?? HOLDOUT_ARM, r]));
  // The variants as defined, then any recorded under an earlier definition, then the holdout.
  const armIds = [...new Set([...experiment.variants.map((v) => v.id), ...rows.flatMap((r) => (r.variant_id === null ? [] : [r.variant_id])), HOLDOUT_ARM])];
  const arms = armIds.map((arm): ArmFigures => {
    const row = counts.get(arm);
    const variant = experiment.variants.find((v) => v.id === arm);
    const [assigned, sent, measured, converted] = [row?.assigned, row?.sent, row?.measured, row?.converted].map(Number).map((n) => n || 0) as [number, number, number, number];
    return {
      arm,
      variant: variant ? { id: variant.id, template: variant.send ?? experiment.send ?? null, after: variant.after ?? null, weight: variant.weight } : null,
      assigned,
      sent,
      measured,
      pending: assigned - measured,
      converted,
      rate: measured === 0 ? null : converted / measured,
      ci95: wilsonInterval(converted, measured),
      comparison: null,
    };
  });
  const holdout = arms.find((a) => a.arm === HOLDOUT_ARM)!;
  const baseline = holdout.measured > 0 ? holdout : arms[0]!;
  for (const arm of arms) {
    if (arm === baseline || (arm === holdout && holdout.measured === 0)) continue;
    arm.comparison = compare(arm, baseline);
  }
  const warnings = arms.flatMap((a) => (a.comparison?.warning ? [`${a.arm}: ${a.comparison.warning}`] : []));
  return {
    id: experiment.id,
    ruleId: definition.ruleId,
    goal: experiment.goal,
    window: experiment.window,
    inForce: definition.inForce,
    rulesVersion: definition.rulesVersion,
    baseline: baseline.arm,
    arms,
    warning: warnings.length === 0 ? null : `sample too small to trust the test (${warnings.join('; ')})`,
  };
}

/**
 * The arm against the baseline. The z-test leans on the normal approximation, poor with few
 * developers or few conversions: below MIN_MEASURED_PER_ARM measured in either arm, or fewer than
 * MIN_EXPECTED_COUNT expected conversions or non-conversions (n·p̂, n·(1−p̂) at the pooled rate),
 * the comparison says so and is not called significant.
 */
export function compare(
  arm: Pick<ArmFigures, 'measured' | 'converted' | 'rate'>,
  baseline: Pick<ArmFigures, 'arm' | 'measured' | 'converted' | 'rate'>,
): NonNullable<ArmFigures['comparison']> {
  const test = twoProportionZTest(arm.converted, arm.measured, baseline.converted, baseline.measured);
  const pooled = arm.measured + baseline.measured === 0 ? 0 : (arm.converted + baseline.converted) / (arm.measured + baseline.measured);
  const fewest = Math.min(arm.measured, baseline.measured);
  const expected = Math.min(fewest * pooled, fewest * (1 - pooled));
  const warning =
    fewest < MIN_MEASURED_PER_ARM
      ? `${fewest} measured in the smaller arm (fewer than ${MIN_MEASURED_PER_ARM})`
      : expected < MIN_EXPECTED_COUNT
        ? `${expected.toFixed(1)} expected ${pooled < 0.5 ? 'conversions' : 'non-conversions'} in the smaller arm (fewer than ${MIN_EXPECTED_COUNT})`
        : null;
  return {
    against: baseline.arm,
    difference: arm.rate === null || baseline.rate === null ? null : arm.rate - baseline.rate,
    z: test?.z ?? null,
    pValue: test?.pValue ?? null,
    significant: warning === null && test !== null && test.pValue < 0.05,
    warning,
  };
}
