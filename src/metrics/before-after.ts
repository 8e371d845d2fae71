import type pg from 'pg';
import { stageIds, stageLabel, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { daysMs, queryCountedUnits } from './progress-query.ts';
import { waldDifference, type Interval } from './proportion-stats.ts';

/**
 * Did a change work? The developers who entered `stage` in the `spanDays` before a change and in
 * the `spanDays` after it, and how many of each reached `next` (or a stage beyond) within
 * `windowDays` of entering: the two rates, their difference with a 95 % interval, and a verdict
 * that says when the difference is within noise. A developer whose window is still open at asOf
 * and who has not converted yet is left out (not yet measurable).
 */

/** Below this many measurable developers on either side, no verdict but `too_few`. */
export const BEFORE_AFTER_MINIMUM = 30;

export interface BeforeAfterGroup {
  /** Entered the stage in the period. */
  entered: number;
  /** Entered, less those still inside their window without converting. */
  measured: number;
  converted: number;
  rate: number | null;
}

export interface BeforeAfterReport {
  asOf: string;
  at: string;
  transition: { stage: string; stageLabel: string; next: string; nextLabel: string };
  windowDays: number;
  spanDays: number;
  before: BeforeAfterGroup & { from: string; to: string };
  after: BeforeAfterGroup & { from: string; to: string };
  /** after.rate − before.rate. */
  difference: number | null;
  ci95: Interval | null;
  verdict: 'improved' | 'worse' | 'within_noise' | 'too_few';
  minimumMeasured: number;
}

export interface BeforeAfterQuery {
  at: Date;
  stage: string;
  /** Default: the stage after `stage` in the funnel. */
  next?: string;
  windowDays: number;
  spanDays: number;
  asOf: Date;
}

export async function beforeAfter(pool: pg.Pool, { version, document }: FunnelVersion, query: BeforeAfterQuery): Promise<BeforeAfterReport> {
  const ids = stageIds(document);
  const next = query.next ?? ids[ids.indexOf(query.stage) + 1]!;
  const beforeFrom = new Date(query.at.getTime() - daysMs(query.spanDays));
  const afterTo = new Date(query.at.getTime() + daysMs(query.spanDays));
  // From the row per developer (progress-query.ts): the instant of entering `stage` and of each
  // stage from `next` on (integers, ms); converted when the earliest of those (`least` skips the
  // unreached) falls within the window. Every developer with stage rows counts, signed up or not.
  const later = ids.slice(ids.indexOf(next));
  const stages = Object.fromEntries([['entered', query.stage], ...later.map((id, i) => [`n${i}`, id])]);
  const window = daysMs(query.windowDays);
  const converted = `coalesce(least(${later.map((_, i) => `n${i}`).join(', ')}) <= entered + ${window}, false)`;
  const rows = await queryCountedUnits<{ grp: 'before' | 'after'; entered: string; converted: string; pending: string }>(
    pool,
    { asOf: query.asOf, everyDeveloper: true },
    'developer',
    version,
    stages,
    (units) => `SELECT CASE WHEN entered < ${query.at.getTime()} THEN 'before' ELSE 'after' END AS grp, count(*) AS entered,
                       count(*) FILTER (WHERE ${converted}) AS converted,
                       count(*) FILTER (WHERE NOT ${converted} AND entered + ${window} > $1) AS pending
                  FROM (${units}) u
                 WHERE entered >= ${beforeFrom.getTime()} AND entered < ${afterTo.getTime()}
                 GROUP BY 1`,
  );
  const group = (grp: 'before' | 'after'): BeforeAfterGroup => {
    const row = rows.find((r) => r.grp === grp);
    const entered = Number(row?.entered ?? 0);
    const converted = Number(row?.converted ?? 0);
    const measured = entered - Number(row?.pending ?? 0);
    return { entered, measured, converted, rate: measured === 0 ? null : converted / measured };
  };
  const before = group('before');
  const after = group('after');
  const compared = before.rate !== null && after.rate !== null ? waldDifference(after.rate, after.measured, before.rate, before.measured) : null;
  const tooFew = before.measured < BEFORE_AFTER_MINIMUM || after.measured < BEFORE_AFTER_MINIMUM;
  const verdict = tooFew || !compared ? 'too_few' : compared.ci95.low > 0 ? 'improved' : compared.ci95.high < 0 ? 'worse' : 'within_noise';
  return {
    asOf: query.asOf.toISOString(),
    at: query.at.toISOString(),
    transition: { stage: query.stage, stageLabel: stageLabel(document, query.stage), next, nextLabel: stageLabel(document, next) },
    windowDays: query.windowDays,
    spanDays: query.spanDays,
    before: { ...before, from: beforeFrom.toISOString(), to: query.at.toISOString() },
    after: { ...after, from: query.at.toISOString(), to: afterTo.toISOString() },
    difference: compared?.difference ?? null,
    ci95: compared?.ci95 ?? null,
    verdict,
    minimumMeasured: BEFORE_AFTER_MINIMUM,
  };
}
