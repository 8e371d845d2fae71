import type pg from 'pg';
import { stageIds, stageLabel, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { queryWithoutJit } from '../db/sql.ts';
import { stageRowsSql } from './metrics-query.ts';
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
  const day = 86_400_000;
  const beforeFrom = new Date(query.at.getTime() - query.spanDays * day);
  const afterTo = new Date(query.at.getTime() + query.spanDays * day);
  const rows = await queryWithoutJit<{ grp: 'before' | 'after'; entered: string; converted: string; pending: string }>(
    pool,
    `WITH entered AS (
       SELECT js.developer_id, js.reached_at, CASE WHEN js.reached_at < $2 THEN 'before' ELSE 'after' END AS grp,
              EXISTS (SELECT 1 FROM journey_stages n
                       WHERE n.developer_id = js.developer_id AND ${stageRowsSql('n', version)}
                         AND array_position($5::text[], n.stage) >= array_position($5::text[], $6)
                         AND n.reached_at <= js.reached_at + make_interval(days => $7)) AS converted
         FROM journey_stages js
        WHERE ${stageRowsSql('js', version)} AND js.stage = $4 AND js.reached_at >= $3 AND js.reached_at < $8)
     SELECT grp, count(*) AS entered, count(*) FILTER (WHERE converted) AS converted,
            count(*) FILTER (WHERE NOT converted AND reached_at + make_interval(days => $7) > $1) AS pending
       FROM entered GROUP BY grp`,
    [query.asOf, query.at, beforeFrom, query.stage, ids, next, query.windowDays, afterTo],
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
