import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { SHIPPED_STAGES } from '../../src/journey/stages.ts';
import { describe, expect, it } from 'vitest';
import { decideNudges, engagementOf, holdoutBucket, initialNudgeState, quietUntil, type NudgeState } from '../../src/journey/nudging.ts';
import { rulesDocument, type ActiveRules } from '../../src/rules/rules-schema.ts';

const HOUR = 3_600_000;
const shipped = rulesDocument.parse(parse(readFileSync(fileURLToPath(new URL('../../config/rules.yaml', import.meta.url)), 'utf8')));
const rules = (policy: Partial<ActiveRules['document']['policy']> = {}): ActiveRules => ({
  version: 7,
  document: { ...shipped, policy: { ...shipped.policy, holdoutPercent: 0, quietHours: { start: '00:00', end: '00:00' }, ...policy } },
});
const t0 = Date.UTC(2026, 10, 2, 12);
const keyAt = (at: number) => ({ credential_provisioned: { occurredAt: new Date(at).toISOString(), eventId: 'k' } });

describe('nudge decisions (pure)', () => {
  it('quiet hours across midnight end at the local end time, in the developer time zone', () => {
    const quiet = { start: '21:00', end: '08:00' };
    // 22:30 in New York (UTC-5 in November) is 03:30 UTC; quiet until 08:00 local = 13:00 UTC.
    const now = Date.UTC(2026, 10, 3, 3, 30);
    expect(quietUntil(now, 'America/New_York', quiet)).toBe(Date.UTC(2026, 10, 3, 13, 0));
    expect(quietUntil(Date.UTC(2026, 10, 3, 15, 0), 'America/New_York', quiet)).toBeUndefined(); // 10:00 local
    expect(quietUntil(now, 'Not/AZone', quiet)).toBe(Date.UTC(2026, 10, 3, 8, 0)); // an unknown zone counts as UTC
  });

  it('when several stall rules are due at once, only the latest-due acts; the others are superseded', () => {
    const { effects, state } = decideNudges({
      developerId: 'd1',
      evidence: keyAt(t0),
      stages: SHIPPED_STAGES,
      state: initialNudgeState(),
      rules: rules(),
      now: t0 + 4 * 24 * HOUR,
    });
    const decisions = effects.map((e) => (e.type === 'sendNudge' ? ['send', e.decision.ruleId] : [e.outcome, e.ruleId, e.reason]));
    expect(decisions).toEqual([
      ['skipped', 'first-call-help', 'superseded'],
      ['send', 'first-call-second-nudge'],
    ]);
    expect(state.wakeAt).toBeUndefined(); // nothing else for this stage
  });

  it('schedules the next decision at the next due rule and sends nothing before it', () => {
    const { effects, state } = decideNudges({ developerId: 'd2', evidence: keyAt(t0), stages: SHIPPED_STAGES, state: initialNudgeState(), rules: rules(), now: t0 + HOUR });
    expect(effects).toEqual([]);
    expect(state.wakeAt).toBe(t0 + 24 * HOUR);
  });

  it('caps nudges per window and records the cap as the reason', () => {
    const recent: NudgeState = {
      ...initialNudgeState(),
      sends: 2,
      sent: [
        { nudgeKey: 'a#1', ruleId: 'a', at: t0 },
        { nudgeKey: 'b#1', ruleId: 'b', at: t0 + HOUR },
      ],
    };
    const { effects } = decideNudges({ developerId: 'd3', evidence: keyAt(t0), stages: SHIPPED_STAGES, state: recent, rules: rules(), now: t0 + 25 * HOUR });
    expect(effects).toMatchObject([{ type: 'recordNudgeDecision', outcome: 'skipped', reason: 'frequency_cap', ruleId: 'first-call-help' }]);
  });

  it('segments engagement as the funnel reference model does, and stops email after sends without an open', () => {
    const policy = shipped.policy;
    expect(engagementOf({ ...initialNudgeState(), opened: 3, clicked: 1 }, policy)).toBe('high');
    expect(engagementOf({ ...initialNudgeState(), opened: 1 }, policy)).toBe('medium');
    expect(engagementOf({ ...initialNudgeState(), sends: 3 }, policy)).toBe('none');
    expect(engagementOf({ ...initialNudgeState(), sends: 2 }, policy)).toBe('new');
    // Email does not reach them: none, whatever they opened before.
    expect(engagementOf({ ...initialNudgeState(), opened: 3, clicked: 1, undeliverable: { reason: 'hard_bounce', at: '2026-11-02T13:00:00.000Z' } }, policy)).toBe('none');
    const { effects } = decideNudges({
      developerId: 'd4',
      evidence: keyAt(t0),
      stages: SHIPPED_STAGES,
      state: { ...initialNudgeState(), opened: 3, clicked: 1 },
      rules: rules(),
      now: t0 + 25 * HOUR,
    });
    expect(effects).toMatchObject([{ outcome: 'skipped', reason: 'segment' }]); // high: monitor only
  });

  it('puts about the configured share of developers in the holdout, the same one every time', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `developer-${i}`);
    const held = ids.filter((id) => holdoutBucket(id) < 1000).length;
    expect(held).toBeGreaterThan(900);
    expect(held).toBeLessThan(1100);
    expect(holdoutBucket('developer-42')).toBe(holdoutBucket('developer-42'));
  });
});
