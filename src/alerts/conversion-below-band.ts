import type pg from 'pg';
import type { FunnelVersion } from '../funnel/funnel-in-force.ts';
import { benchmarkOf } from '../metrics/conversion-bands.ts';
import { defaultTransitions, stageConversion, type ConversionReport, type TransitionFigures } from '../metrics/stage-conversion.ts';
import { percent, type AlertCondition } from './alert-condition.ts';
import type { AlertsDocument } from '../rules/alerts-schema.ts';
import { isoWeekStart, isoWeekOf, weekDays } from '../metrics/iso-week.ts';

type Settings = AlertsDocument['conversionBelowBand'];

/**
 * A benchmarked transition in the warning band for the newest signup cohort that has at least
 * `minEligible` eligible developers (bands need 100 at least: conversion-bands.ts). Only that
 * cohort is judged: older ones are old news, and a lasting problem says so once a week, with each
 * new cohort (the previous week's alert then clears). The link opens the funnel for that week.
 */
export function conversionBelowBand(report: Pick<ConversionReport, 'cohorts' | 'funnel'>, settings: Settings): AlertCondition[] {
  const label = (id: string) => report.funnel.stages.find((s) => s.id === id)?.label ?? id;
  const newest = new Map<string, { cohort: string; t: TransitionFigures }>();
  for (const { cohort, transitions } of [...report.cohorts].sort((a, b) => a.cohort.localeCompare(b.cohort))) {
    for (const t of transitions) if (t.bandStatus === 'banded' && t.eligible >= settings.minEligible) newest.set(`${t.from}:${t.to}:${t.windowDays}d`, { cohort, t });
  }
  return [...newest.values()]
    .filter(({ t }) => t.band === 'warning')
    .map(({ cohort, t }): AlertCondition => {
      const warningBelow = benchmarkOf(t)!.atLeast.below_median;
      return {
        kind: 'conversionBelowBand',
        subject: `${t.from}:${t.to}:${t.windowDays}d`,
        period: cohort,
        summary: `${label(t.from)} → ${label(t.to)} within ${t.windowDays} days: ${percent(t.rate!)} for the ${cohort} signups (${t.converted} of ${t.eligible}), in the warning band (under ${percent(warningBelow)})`,
        detail: { from: t.from, to: t.to, windowDays: t.windowDays, cohort, rate: t.rate, eligible: t.eligible, converted: t.converted, warningBelow },
        view: { query: weekDays(cohort), panel: 'funnelPanel' },
      };
    });
}

/** The conversion of the signup weeks looked at (the current one and `weeks - 1` before it), per cohort. */
export function measureConversion(pool: pg.Pool, funnel: FunnelVersion, settings: Settings, now: Date): Promise<ConversionReport> {
  const from = new Date(isoWeekStart(isoWeekOf(now)).getTime() - (settings.weeks - 1) * 7 * 86_400_000);
  return stageConversion(pool, { asOf: now, from }, 'developer', funnel, defaultTransitions(funnel.document));
}
