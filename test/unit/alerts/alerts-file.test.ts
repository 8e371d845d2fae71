import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alertMessage, dashboardLink } from '../../../src/alerts/alert-message.ts';
import { alertsFormat } from '../../../src/rules/alerts-file.ts';
import { MIN_BANDED_ELIGIBLE } from '../../../src/metrics/conversion-bands.ts';
import { isoWeekOf, isoWeekStart, weekDays } from '../../../src/metrics/iso-week.ts';

const shipped = readFileSync(new URL('../../../config/alerts.yaml', import.meta.url), 'utf8');

describe('alertsFormat.parse', () => {
  it('accepts the shipped config/alerts.yaml, which spells out the defaults and a channel', () => {
    const shippedDocument = alertsFormat.parse(shipped);
    const defaults = alertsFormat.parse('{}\n');
    expect(shippedDocument.ok && defaults.ok).toBe(true);
    if (!shippedDocument.ok || !defaults.ok) return;
    expect(shippedDocument.document).toEqual({ ...defaults.document, slack: { channel: '#onboarding-alerts' } });
    expect(defaults.document.slack).toBeUndefined();
  });

  it('names every wrong field with its line', () => {
    const result = alertsFormat.parse('ttfacTail: { percentile: 50, riseAbove: 1 }\nendpointErrorSpike: { window: soon }\nsourceSilent: { afterr: 6h }\n');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => alertsFormat.formatError(e))).toEqual([
      'ttfacTail.percentile: must be one of 75, 90 (line 1, column 26)',
      'ttfacTail.riseAbove: must be greater than 1 (line 1, column 41)',
      'endpointErrorSpike.window: must be a positive duration like "90m", "24h" or "3d" (line 2, column 31)',
      'sourceSilent.afterr: unknown field "afterr" (line 3, column 17)',
    ]);
  });

  it('refuses a minEligible under the 100 developers bands need', () => {
    expect(MIN_BANDED_ELIGIBLE).toBe(100);
    const result = alertsFormat.parse('conversionBelowBand: { minEligible: 20 }\n');
    expect(result).toMatchObject({ ok: false, errors: [{ path: 'conversionBelowBand.minEligible', message: 'must be at least 100' }] });
  });
});

describe('ISO weeks', () => {
  it('names and starts weeks as the cohorts do (the ISO week-year)', () => {
    expect(isoWeekOf(new Date('2027-01-01T00:00:00Z'))).toBe('2026-W53');
    expect(isoWeekOf(new Date('2026-12-06T23:59:59Z'))).toBe('2026-W49');
    expect(isoWeekStart('2026-W53').toISOString()).toBe('2026-12-28T00:00:00.000Z');
    expect(weekDays('2026-W01')).toEqual({ from: '2025-12-29', to: '2026-01-04' });
  });
});

describe('alert messages', () => {
  it('link to the dashboard view and escape what Slack would read as markup', () => {
    const link = dashboardLink('https://onramp.example.com/', { query: { from: '2026-11-30', to: '2026-12-06' }, panel: 'funnelPanel' });
    expect(link).toBe('https://onramp.example.com/dashboard?from=2026-11-30&to=2026-12-06#funnelPanel');
    expect(alertMessage({ kind: 'endpointErrorSpike', detail: { summary: 'errors on GET /v1/<id> & co' }, link })).toBe(
      `:rotating_light: *First-session errors spiking on one endpoint*\nerrors on GET /v1/&lt;id&gt; &amp; co\n<${link}|Open the dashboard view>`,
    );
  });
});
