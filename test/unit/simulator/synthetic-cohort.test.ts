import { describe, expect, it } from 'vitest';
import { ingestEvent } from '../../../src/events/event-schemas.ts';
import { isSdkUserAgent } from '../../../src/events/user-agent.ts';
import { SHIPPED_STAGES } from '../../../src/journey/stages.ts';
import { generateCohort, reactToNudge } from '../../../src/simulator/synthetic-cohort.ts';
import { expectedStages } from '../../support/expected-stages.ts';

const DAY = 86_400_000;
const start = new Date('2026-01-05T00:00:00Z');
const rank = (stage: string) => SHIPPED_STAGES.indexOf(stage as (typeof SHIPPED_STAGES)[number]);

describe('the synthetic cohort', () => {
  it('is reproducible from its seed, and adding developers leaves the others unchanged', () => {
    const a = generateCohort({ seed: 7, developers: 50, days: 30, start });
    expect(generateCohort({ seed: 7, developers: 50, days: 30, start })).toEqual(a);
    expect(generateCohort({ seed: 8, developers: 50, days: 30, start })).not.toEqual(a);
    const more = generateCohort({ seed: 7, developers: 10, days: 30, start, firstIndex: 50 });
    expect(generateCohort({ seed: 7, developers: 60, days: 30, start })).toEqual([...a, ...more]);
    expect(new Set(a.flatMap((d) => d.events.map((e) => e.id))).size).toBe(a.reduce((n, d) => n + d.events.length, 0));
  });

  it('emits valid ingest events in event-time order, nothing after `until`', () => {
    const until = new Date(start.getTime() + 20 * DAY);
    const cohort = generateCohort({ seed: 3, developers: 300, days: 30, start, until });
    for (const developer of cohort) {
      const times = developer.events.map((e) => e.occurredAt);
      expect(times).toEqual([...times].sort());
      for (const event of developer.events) {
        const parsed = ingestEvent.safeParse(event);
        expect(parsed.success, JSON.stringify(event)).toBe(true);
        expect(Date.parse(event.occurredAt)).toBeLessThanOrEqual(until.getTime());
      }
    }
    // Signups after `until` exist in the plan but generated nothing.
    expect(cohort.filter((d) => d.events.length === 0).length).toBeGreaterThan(0);
  });

  it("writes down stages that agree with the funnel's stage definitions applied to its events", () => {
    // The truth is recorded as the generator acts; the oracle derives stages from the events alone.
    const cohort = generateCohort({ seed: 11, developers: 400, days: 30, start, until: new Date(start.getTime() + 120 * DAY) });
    for (const developer of cohort) {
      const derived = expectedStages(developer.events.map((e) => ({ ...e, properties: e.properties as Record<string, unknown> })));
      expect(Object.fromEntries(Object.entries(derived).map(([stage, proof]) => [stage, proof.at])), developer.profile.id).toEqual(developer.truth.stages);
    }
  });

  it('counts SDK and raw requests by what the shipped user-agent patterns say', () => {
    const cohort = generateCohort({ seed: 5, developers: 200, days: 30, start, until: new Date(start.getTime() + 120 * DAY) });
    for (const developer of cohort) {
      const requests = developer.events.filter((e) => e.type === 'api.request');
      const sdk = requests.filter((e) => isSdkUserAgent((e.properties as { userAgent?: string }).userAgent)).length;
      expect(developer.truth.requests).toEqual({ total: requests.length, sdk, raw: requests.length - sdk });
    }
  });

  it("lands near the reference model's median conversion for each transition (4,000 developers, three seeds)", () => {
    for (const seed of [1, 2, 3]) {
      const cohort = generateCohort({ seed, developers: 4000, days: 30, start, until: new Date(start.getTime() + 200 * DAY) });
      const conversion = (from: string, to: string, days: number) => {
        const eligible = cohort.filter((d) => d.truth.stages[from as never]);
        const converted = eligible.filter((d) => {
          const t0 = Date.parse(d.truth.stages[from as never]!);
          return Object.entries(d.truth.stages).some(([stage, at]) => rank(stage) >= rank(to) && Date.parse(at) <= t0 + days * DAY);
        });
        return converted.length / eligible.length;
      };
      // The reference model's median ranges (docs/concepts/funnel.md#benchmark-bands): 25–35 %, 40–55 %, 30–45 %.
      expect(conversion('account_created', 'first_api_call', 7)).toSatisfy((r: number) => r >= 0.25 && r <= 0.35);
      expect(conversion('first_api_call', 'active_integration', 14)).toSatisfy((r: number) => r >= 0.4 && r <= 0.55);
      expect(conversion('active_integration', 'production_deployment', 30)).toSatisfy((r: number) => r >= 0.3 && r <= 0.45);
    }
  });

  it('behaves by channel: organic search calls sooner and skips the quickstart more than paid and listing sites', () => {
    const cohort = generateCohort({ seed: 4, developers: 4000, days: 30, start, until: new Date(start.getTime() + 200 * DAY) });
    const of = (channel: string) => cohort.filter((d) => d.profile.channel === channel);
    const medianTtfac = (channel: string) => {
      const hours = of(channel)
        .filter((d) => d.truth.stages.first_api_call)
        .map((d) => Date.parse(d.truth.stages.first_api_call!) - Date.parse(d.truth.stages.account_created!))
        .sort((a, b) => a - b);
      return hours[Math.floor(hours.length / 2)]!;
    };
    const quickstartShare = (channel: string) => {
      const callers = of(channel).filter((d) => d.truth.stages.first_api_call);
      return callers.filter((d) => d.truth.stages.first_integration_milestone).length / callers.length;
    };
    expect(medianTtfac('organic_search')).toBeLessThan(medianTtfac('listing_site'));
    expect(medianTtfac('listing_site')).toBeLessThan(medianTtfac('paid'));
    expect(quickstartShare('organic_search')).toBeLessThan(quickstartShare('listing_site') / 2);
    // First-session errors at the configured rates.
    const noErrors = generateCohort({ seed: 4, developers: 500, days: 30, start, errorRates: { status401: 0, status400: 0, status429: 0 } });
    expect(noErrors.every((d) => Object.keys(d.truth.firstSessionErrors).length === 0)).toBe(true);
    const all401 = generateCohort({ seed: 4, developers: 500, days: 30, start, errorRates: { status401: 1 } });
    const withKeys = all401.filter((d) => d.truth.stages.credential_provisioned);
    expect(withKeys.every((d) => (d.truth.firstSessionErrors['401'] ?? 0) >= 2 || d.truth.requests.total === 0)).toBe(true);
  });

  it('reacts to a nudge by email habit, the same way every time', () => {
    const cohort = generateCohort({ seed: 9, developers: 300, days: 30, start });
    const sentAt = new Date(start.getTime() + 40 * DAY);
    const reactions = cohort.map((d) => reactToNudge(d, { nudgeKey: 'first-call-help#1', sentAt }, 9));
    expect(cohort.map((d) => reactToNudge(d, { nudgeKey: 'first-call-help#1', sentAt }, 9))).toEqual(reactions);
    cohort.forEach((d, i) => {
      if (d.truth.emailHabit === 'ignores') expect(reactions[i]).toEqual([]);
      for (const event of reactions[i]!) {
        expect(ingestEvent.safeParse(event).success).toBe(true);
        expect(Date.parse(event.occurredAt)).toBeGreaterThan(sentAt.getTime());
      }
    });
    const opened = (habit: string) => {
      const group = cohort.map((d, i) => [d, reactions[i]!] as const).filter(([d]) => d.truth.emailHabit === habit);
      return group.filter(([, r]) => r.some((e) => e.type === 'email.opened')).length / group.length;
    };
    expect(opened('engaged')).toBeGreaterThan(opened('skimmer'));
    expect(opened('skimmer')).toBeGreaterThan(0);
  });
});
