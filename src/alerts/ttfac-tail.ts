import type pg from 'pg';
import type { FunnelVersion } from '../funnel/funnel-in-force.ts';
import { timeToFirstCall, type TtfacReport } from '../metrics/time-to-first-call.ts';
import type { AlertCondition } from './alert-condition.ts';
import type { AlertsDocument } from '../rules/alerts-schema.ts';
import { isoWeekStart, isoWeekOf, weekDays } from '../metrics/iso-week.ts';

type Settings = AlertsDocument['ttfacTail'];

const WEEK_MS = 7 * 86_400_000;
const hours = (seconds: number) => `${(seconds / 3600).toFixed(1)} h`;

/**
 * The time-to-first-call tail rising: the last complete signup week's p75 or p90 above `riseAbove`
 * times the median of the same percentile over the `versusWeeks` weeks before it. A week counts
 * only with `minReached` developers at the first call. The current week is left out: it is still
 * filling, and its slow developers have not had the time to be slow yet.
 */
export function ttfacTail(report: Pick<TtfacReport, 'cohorts'>, settings: Settings, now: Date): AlertCondition[] {
  const key = settings.percentile === 75 ? 'p75' : 'p90';
  const current = isoWeekOf(new Date(isoWeekStart(isoWeekOf(now)).getTime() - WEEK_MS));
  const counted = report.cohorts.filter((c) => c.percentiles && c.reached >= settings.minReached);
  const latest = counted.find((c) => c.cohort === current);
  if (!latest) return [];
  const earliest = isoWeekOf(new Date(isoWeekStart(current).getTime() - settings.versusWeeks * WEEK_MS));
  const baselineWeeks = counted.filter((c) => c.cohort >= earliest && c.cohort < current);
  if (baselineWeeks.length === 0) return [];
  const baseline = median(baselineWeeks.map((c) => c.percentiles![key]));
  const value = latest.percentiles![key];
  if (!(value > settings.riseAbove * baseline)) return [];
  return [
    {
      kind: 'ttfacTail',
      subject: key,
      period: current,
      summary: `Time to first call ${key} for the ${current} signups: ${hours(value)}, ${(value / baseline).toFixed(1)}× the ${hours(baseline)} of the ${baselineWeeks.length} week${baselineWeeks.length === 1 ? '' : 's'} before (alert above ${settings.riseAbove}×)`,
      detail: {
        percentile: settings.percentile,
        cohort: current,
        seconds: value,
        baselineSeconds: baseline,
        baselineWeeks: baselineWeeks.map((c) => c.cohort),
        reached: latest.reached,
      },
      view: { query: { from: weekDays(baselineWeeks[0]!.cohort).from, to: weekDays(current).to }, panel: 'ttfacPanel' },
    },
  ];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Time to first call per signup week, from the first baseline week to now. */
export function measureTtfac(pool: pg.Pool, funnel: FunnelVersion, settings: Settings, now: Date): Promise<TtfacReport> {
  const from = new Date(isoWeekStart(isoWeekOf(now)).getTime() - (settings.versusWeeks + 1) * WEEK_MS);
  return timeToFirstCall(pool, { asOf: now, from }, 'developer', funnel);
}
