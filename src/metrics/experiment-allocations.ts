import type pg from 'pg';
import type { ReadFunnelInForce } from '../funnel/funnel-in-force.ts';
import type { ExperimentAllocations } from '../journey/experiment-assignment.ts';
import { durationMs } from '../rules/duration.ts';
import type { ActiveRules, Experiment } from '../rules/rules-schema.ts';
import type { ReadRulesInForce, RulesInForce } from '../rules/rules-in-force.ts';
import { experimentReport } from './experiment-report.ts';
import { documentAllocation, thompsonAllocation, weightsDiffer, type AllocatedArm } from './thompson-allocation.ts';

/**
 * Adaptive experiments' allocations (docs/concepts/nudges.md#adaptive-allocation), measured by the
 * worker and handed to journeys with the rules in force (`RulesInForce.allocations`), as the risk
 * crossings are. Each `every` period, the experiment report's figures as of the period's start
 * (only developers whose window has closed) give Thompson sampling's weights; a changed allocation
 * is recorded in experiment_allocations with the data and the reason behind it.
 */

export interface AllocationRecord {
  rulesVersion: number;
  asOf: string;
  weights: Record<string, number>;
  arms: AllocatedArm[];
  reason: string;
  recordedAt: string;
}

type AllocationRow = { rules_version: number; as_of: Date; weights: Record<string, number>; arms: AllocatedArm[]; reason: string; recorded_at: Date };

const toRecord = (row: AllocationRow): AllocationRecord => ({
  rulesVersion: row.rules_version,
  asOf: row.as_of.toISOString(),
  weights: row.weights,
  arms: row.arms,
  reason: row.reason,
  recordedAt: row.recorded_at.toISOString(),
});

/** An experiment's allocations recorded by `at`, newest first. */
export async function allocationHistory(pool: pg.Pool, experimentId: string, at: Date): Promise<AllocationRecord[]> {
  const { rows } = await pool.query<AllocationRow>(
    'SELECT rules_version, as_of, weights, arms, reason, recorded_at FROM experiment_allocations WHERE experiment_id = $1 AND recorded_at <= $2 ORDER BY as_of DESC, id DESC',
    [experimentId, at],
  );
  return rows.map(toRecord);
}

/** The experiments of the rules that ask for adaptive allocation, with their rule. */
export function adaptiveExperiments(rules: ActiveRules | null): { ruleId: string; experiment: Experiment & { adaptive: NonNullable<Experiment['adaptive']> } }[] {
  return (rules?.document.rules ?? []).flatMap((rule) =>
    'experiment' in rule.action && rule.action.experiment.adaptive
      ? [{ ruleId: rule.id, experiment: { ...rule.action.experiment, adaptive: rule.action.experiment.adaptive } }]
      : [],
  );
}

/** The start of the `every` period `ms` falls in: the instant an allocation reads its data as of. */
export const periodStart = (ms: number, every: string) => new Date(Math.floor(ms / durationMs(every)) * durationMs(every));

/**
 * The weights of one adaptive experiment as of `asOf`; undefined while the data is too thin (the
 * document's weights stand). Recorded when they differ from the last recorded by more than
 * rounding, including a return to the document's weights (a rules version asking for more data).
 * Same data, same weights: workers computing the same period concurrently record one row (unique
 * experiment, rules version and instant).
 */
export async function allocate(
  pool: pg.Pool,
  rules: ActiveRules,
  adaptive: ReturnType<typeof adaptiveExperiments>[number],
  funnelVersion: number,
  asOf: Date,
): Promise<Record<string, number> | undefined> {
  const { experiment, ruleId } = adaptive;
  const report = await experimentReport(pool, { experiment, ruleId, rulesVersion: rules.version, inForce: true }, funnelVersion, asOf);
  const arms = experiment.variants.map((variant) => {
    const figures = report.arms.find((arm) => arm.arm === variant.id);
    return { variant: variant.id, measured: figures?.measured ?? 0, converted: figures?.converted ?? 0 };
  });
  const moved = thompsonAllocation(arms, experiment.adaptive);
  const allocation = moved ?? documentAllocation(experiment.variants, arms, experiment.adaptive.minPerVariant);
  const { rows } = await pool.query<{ weights: Record<string, number> }>(
    'SELECT weights FROM experiment_allocations WHERE experiment_id = $1 AND as_of <= $2 ORDER BY as_of DESC, id DESC LIMIT 1',
    [experiment.id, asOf],
  );
  const last = rows[0]?.weights;
  const unchanged = last !== undefined && !weightsDiffer(last, allocation.weights);
  // Nothing recorded yet and the document's weights standing: nothing changed.
  if (!unchanged && (last !== undefined || moved)) {
    await pool.query(
      `INSERT INTO experiment_allocations (experiment_id, rules_version, as_of, weights, arms, reason) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (experiment_id, rules_version, as_of) DO NOTHING`,
      [experiment.id, rules.version, asOf, JSON.stringify(allocation.weights), JSON.stringify(allocation.arms), allocation.reason],
    );
  }
  if (!moved) return undefined;
  return unchanged ? last : allocation.weights;
}

/**
 * The worker's read of the rules in force, with its adaptive experiments' weights beside them:
 * computed once per experiment period, rules and funnel version, and shared by every journey
 * that reads them meanwhile. Rules without adaptive experiments pass through untouched.
 */
export function withExperimentAllocations(read: ReadRulesInForce, pool: pg.Pool, funnelInForce: ReadFunnelInForce, now = () => Date.now()): ReadRulesInForce {
  let kept: { key: string; allocations: Promise<ExperimentAllocations | undefined> } | undefined;
  return async (): Promise<RulesInForce> => {
    const inForce = await read();
    const { rules } = inForce;
    const adaptive = adaptiveExperiments(rules);
    if (!rules || adaptive.length === 0) return inForce;
    const funnel = await funnelInForce();
    const periods = adaptive.map(({ experiment }) => periodStart(now(), experiment.adaptive.every));
    const key = JSON.stringify([rules.version, funnel.version, periods.map((p) => p.getTime())]);
    if (kept?.key !== key) {
      const allocations = (async () => {
        const measured: ExperimentAllocations = {};
        for (const [index, experiment] of adaptive.entries()) {
          const weights = await allocate(pool, rules, experiment, funnel.version, periods[index]!);
          if (weights) measured[experiment.experiment.id] = weights;
        }
        return Object.keys(measured).length > 0 ? measured : undefined;
      })();
      kept = { key, allocations };
      allocations.catch(() => {
        if (kept?.key === key) kept = undefined;
      });
    }
    const allocations = await kept.allocations;
    return allocations ? { ...inForce, allocations } : inForce;
  };
}
