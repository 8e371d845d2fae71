import type pg from 'pg';
import type { FunnelVersion } from '../funnel/funnel-in-force.ts';
import { benchmarkOf } from '../metrics/conversion-bands.ts';
import { defaultTransitions, stageConversion, type ConversionReport } from '../metrics/stage-conversion.ts';
import { percent, type AlertCondition } from './alert-condition.ts';
import type { AlertsDocument } from '../rules/alerts-schema.ts';
import { isoWeekStart, isoWeekOf, weekDays } from './iso-week.ts';

type Settings = AlertsDocument['conversionBelowBand'];

/**
 * A signup cohort's benchmarked transition in the warning band, with at least `minEligible`
 * eligible developers (bands need 100 at least: conversion-bands.ts). One alert per transition
 * and cohort; the link opens the funnel for that signup week.
 */
export function conversionBelowBand(report: Pick<ConversionReport, 'cohorts' | 'funnel'>, settings: Settings): AlertCondition[] {
  const label = (id: string) => report.funnel.stages.find((s) => s.id === id)?.label ?? id;
  return report.cohorts.flatMap(({ cohort, transitions }) =>
    transitions
      .filter((t) => t.bandStatus === 'banded' && t.band === 'warning' && t.eligible >= settings.minEligible)
      .map((t): AlertCondition => {
        const warningBelow = benchmarkOf(t)!.atLeast.below_median;
        return {
          kind: 'conversionBelowBand',
          subject: `${t.from}:${t.to}:${t.windowDays}d`,
          period: cohort,
          summary: `${label(t.from)} → ${label(t.to)} within ${t.windowDays} days: ${percent(t.rate!)} for the ${cohort} signups (${t.converted} of ${t.eligible}), in the warning band (under ${percent(warningBelow)})`,
          detail: { from: t.from, to: t.to, windowDays: t.windowDays, cohort, rate: t.rate, eligible: t.eligible, converted: t.converted, warningBelow },
          view: { query: weekDays(cohort), panel: 'funnelPanel' },
        };
      }),
  );
}

/** The conversion of the signup weeks watched (the current one and `weeks - 1` before it), per cohort. */
export function measureConversion(pool: pg.Pool, funnel: FunnelVersion, settings: Settings, now: Date): Promise<ConversionReport> {
  const from = new Date(isoWeekStart(isoWeekOf(now)).getTime() - (settings.weeks - 1) * 7 * 86_400_000);
  return stageConversion(pool, { asOf: now, from }, 'developer', funnel, defaultTransitions(funnel.document));
}
