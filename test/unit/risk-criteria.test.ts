import { describe, expect, it } from 'vitest';
import type { HandoffStepEffect, MachineEffect, SendNudgeEffect } from '../../src/journey/journey-effects.ts';
import type { JourneyEvent } from '../../src/journey/journey-event.ts';
import { applyJourneyEvent, startJourney, type JourneySnapshot } from '../../src/journey/journey-runtime.ts';
import { riskSegmentKey, type RiskCrossings } from '../../src/journey/risk-crossings.ts';
import { SHIPPED_STAGES } from '../../src/journey/stages.ts';
import { crossingMs, measureRiskCrossings, riskCriteria } from '../../src/metrics/risk-crossings.ts';
import { developerRisk, riskModel, type Spell } from '../../src/metrics/stagnation-risk.ts';
import { escalationPolicyDocument, type ActivePolicy } from '../../src/rules/escalation-policy-schema.ts';
import { rulesDocument, type ActiveRules } from '../../src/rules/rules-schema.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const t0 = Date.UTC(2026, 10, 2, 12);
const iso = (ms: number) => new Date(ms).toISOString();

/*
 * The curves of credential_provisioned (window 7 d), at asOf:
 *   organic_search × individual, 100: 60 leave at 12 h, 40 still there after 30 d (censored)
 *   paid × individual, 50: 45 leave at 3 d, 5 still there after 30 d
 * organic's own curve: S = 1 before 12 h, 0.4 after: risk 0.4 before 12 h, 1 from 12 h.
 * paid's own curve: risk S(t + 7 d) / S(t) = 0.1 before 3 d; from 3 d only 5 observed through
 * t + 7 d (< 10): unavailable, so the stage's overall curve answers: S = 0.6 from 12 h, 0.3 from
 * 3 d: risk 0.3 before 12 h, 0.5 until 3 d, 1 from 3 d (also the answer for any other segment).
 */
const asOf = Date.UTC(2027, 0, 1);
const spells = (n: number, durationMs: number, exited: boolean): Spell[] => Array.from({ length: n }, () => ({ durationMs, exited }));
const stageIndex = SHIPPED_STAGES.indexOf('credential_provisioned');
const windows = SHIPPED_STAGES.map(() => 7 * DAY);
const model = riskModel(
  [
    { stageIndex, channel: 'organic_search', accountType: 'individual', spells: [...spells(60, 12 * HOUR, true), ...spells(40, 30 * DAY, false)] },
    { stageIndex, channel: 'paid', accountType: 'individual', spells: [...spells(45, 3 * DAY, true), ...spells(5, 30 * DAY, false)] },
  ],
  windows,
  asOf,
);

describe('risk crossings (measured on the curves)', () => {
  it('finds the first hour at which the risk is above the threshold, in the segment curve the list would use', () => {
    const organic = { channel: 'organic_search', accountType: 'individual' };
    expect(crossingMs(model, stageIndex, organic, 0.8, 0)).toBe(12 * HOUR);
    expect(crossingMs(model, stageIndex, { channel: 'paid', accountType: 'individual' }, 0.8, 0)).toBe(3 * DAY);
    expect(crossingMs(model, stageIndex, { channel: 'direct', accountType: null }, 0.45, 0)).toBe(12 * HOUR);
    expect(crossingMs(model, stageIndex, { channel: 'direct', accountType: null }, 0.8, 0)).toBe(3 * DAY);
    // Not before the earliest given; never above 1; a stage without curves tells nothing.
    expect(crossingMs(model, stageIndex, organic, 0.8, 2 * DAY + 30 * 60_000)).toBe(2 * DAY + 30 * 60_000);
    expect(crossingMs(model, stageIndex, organic, 0.999999, 0)).toBe(12 * HOUR);
    expect(crossingMs(model, SHIPPED_STAGES.indexOf('first_api_call'), organic, 0.5, 0)).toBeNull();
    // Each crossing agrees with the developer list's risk an hour before and at it.
    for (const segment of [organic, { channel: 'paid', accountType: 'individual' }]) {
      const at = crossingMs(model, stageIndex, segment, 0.8, 0)!;
      const riskAt = (t: number) => developerRisk(model, { stageIndex, stageAtMs: asOf - t, ...segment }).risk!;
      expect(riskAt(at)).toBeGreaterThan(0.8);
      expect(riskAt(at - HOUR)).toBeLessThanOrEqual(0.8);
    }
  });

  it('measures every risk criterion of the rules and the policy, per segment, from its earliest', () => {
    const rules = rulesDocument.parse({
      rules: [
        { id: 'risky-key', when: { stage: 'credential_provisioned', risk: { above: 0.8 } }, action: { send: 'first-call-help' } },
        { id: 'late-risky-key', when: { stage: 'credential_provisioned', after: '1d', risk: { above: 0.8 } }, action: { send: 'first-call-help' } },
        { id: 'plain', when: { stage: 'credential_provisioned', after: '1d' }, action: { send: 'first-call-help' } },
      ],
    });
    const policy = escalationPolicyDocument.parse({
      criteria: { stalls: [{ id: 'no-first-call', since: 'credential_provisioned', until: 'first_api_call', after: '7d', risk: { above: 0.4, notBefore: '2h' } }] },
    });
    const criteria = riskCriteria(rules, policy);
    expect(criteria.map((c) => c.key)).toEqual(['rule:risky-key', 'rule:late-risky-key', 'stall:no-first-call']);
    const measured = measureRiskCrossings(model, SHIPPED_STAGES, criteria)!;
    expect(measured.asOf).toBe(iso(asOf));
    const organic = riskSegmentKey('organic_search', 'individual');
    expect(measured.criteria['rule:risky-key']![organic]).toBe(12 * HOUR);
    expect(measured.criteria['rule:late-risky-key']![organic]).toBe(DAY);
    expect(measured.criteria['stall:no-first-call']![organic]).toBe(12 * HOUR); // 0.4 is not above 0.4
    expect(measured.criteria['stall:no-first-call']![riskSegmentKey(null, null)]).toBe(12 * HOUR); // overall: 0.5 from 12 h
    expect(Object.keys(measured.criteria['rule:risky-key']!)).toHaveLength(7 * 3); // every channel × account type, known or not
    expect(measureRiskCrossings(model, SHIPPED_STAGES, riskCriteria(rulesDocument.parse({ rules: [] }), undefined))).toBeUndefined();
  });
});

describe('risk in rules and stall criteria (validation)', () => {
  const issues = (doc: unknown) => {
    const result = rulesDocument.safeParse(doc);
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  it('needs after, risk or both on a stage rule; a threshold strictly between 0 and 1; no variant delay on a risk experiment', () => {
    expect(issues({ rules: [{ id: 'a', when: { stage: 'credential_provisioned' }, action: { send: 'x' } }] })).toEqual([
      'rules.0.when.after: is required, unless the rule gives `risk`',
    ]);
    expect(issues({ rules: [{ id: 'a', when: { stage: 'credential_provisioned', risk: { above: 1 } }, action: { send: 'x' } }] })).toContain(
      'rules.0.when.risk.above: must be below 1',
    );
    const experiment = { id: 'e', goal: 'first_api_call', window: '7d', send: 'x', variants: [{ id: 'a' }, { id: 'b', after: '2d' }] };
    expect(issues({ rules: [{ id: 'a', when: { stage: 'credential_provisioned', risk: { above: 0.5 } }, action: { experiment } }] })).toEqual([
      'rules.0.action.experiment.variants.1.after: a rule triggered by risk acts when the risk crosses: its variants cannot wait otherwise',
    ]);
    const stall = escalationPolicyDocument.safeParse({ criteria: { stalls: [{ id: 's', since: 'a', until: 'b', after: '7d', risk: { above: 0 } }] } });
    expect(stall.success ? [] : stall.error.issues.map((i) => i.path.join('.'))).toEqual(['criteria.stalls.0.risk.above']);
  });
});

/** A journey driven through the machine as the workflow drives it, with the risk crossings a read gave. */
class Journey {
  snapshot: JourneySnapshot;
  constructor(
    readonly id: string,
    channel: string,
  ) {
    this.snapshot = startJourney({ developerId: id });
    this.send({ id: `${id}-s`, type: 'developer.signed_up', occurredAt: iso(t0 - HOUR), properties: { accountType: 'individual', acquisitionChannel: channel, timezone: 'UTC' } });
    this.send({ id: `${id}-k`, type: 'api_key.created', occurredAt: iso(t0), properties: { mode: 'test' } });
  }
  send(event: JourneyEvent | Parameters<typeof applyJourneyEvent>[1]): MachineEffect[] {
    const result = applyJourneyEvent(this.snapshot, event);
    this.snapshot = result.snapshot;
    return result.effects;
  }
  decide(now: number, rules: ActiveRules, policy: ActivePolicy, risk?: RiskCrossings) {
    return this.send({ type: 'nudge.decide', now, rules, policy, ...(risk ? { risk } : {}) });
  }
}

const riskRules = (when: Record<string, unknown>): ActiveRules => ({
  version: 3,
  document: rulesDocument.parse({
    policy: { holdoutPercent: 0, quietHours: { start: '00:00', end: '00:00' } },
    rules: [{ id: 'risky-key', when: { stage: 'credential_provisioned', ...when }, action: { send: 'first-call-help' } }],
  }),
});
const shippedPolicy = (stall: Record<string, unknown> = {}): ActivePolicy => ({
  version: 2,
  document: escalationPolicyDocument.parse({ criteria: { stalls: [{ id: 'no-first-call', since: 'credential_provisioned', until: 'first_api_call', after: '7d', ...stall }] } }),
});
const crossings = (criterion: string, bySegment: Record<string, number | null>): RiskCrossings => ({ asOf: iso(t0 - DAY), criteria: { [criterion]: bySegment } });
const sends = (effects: MachineEffect[]) => effects.filter((e): e is SendNudgeEffect => e.type === 'sendNudge');
const escalations = (effects: MachineEffect[]) => effects.filter((e): e is HandoffStepEffect => e.type === 'recordHandoffStep' && e.step === 'escalated');

describe('risk in rules and stall criteria (through the machine)', () => {
  const risk = crossings('rule:risky-key', { [riskSegmentKey('paid', 'individual')]: 3 * DAY, [riskSegmentKey('organic_search', 'individual')]: 12 * HOUR });

  it("sends a risk rule's nudge when the developer's segment crosses, not before, and says so in the decision", () => {
    const paid = new Journey('paid-1', 'paid');
    expect(paid.decide(t0 + HOUR, riskRules({ risk: { above: 0.8 } }), shippedPolicy(), risk)).toEqual([]);
    expect(paid.snapshot.context.nudging!.wakeAt).toBe(t0 + 3 * DAY);
    const [send] = sends(paid.decide(t0 + 3 * DAY, riskRules({ risk: { above: 0.8 } }), shippedPolicy(), risk));
    expect(send!.decision).toMatchObject({ ruleId: 'risky-key', outcome: 'sent', inputs: { dueAt: iso(t0 + 3 * DAY), risk: { above: 0.8, curvesAsOf: iso(t0 - DAY) } } });

    const organic = new Journey('organic-1', 'organic_search');
    expect(sends(organic.decide(t0 + 12 * HOUR, riskRules({ risk: { above: 0.8 } }), shippedPolicy(), risk))).toHaveLength(1);
  });

  it('waits for `after` when the risk crosses sooner', () => {
    const organic = new Journey('organic-2', 'organic_search');
    const rules = riskRules({ after: '2d', risk: { above: 0.8 } });
    expect(organic.decide(t0 + DAY, rules, shippedPolicy(), risk)).toEqual([]);
    expect(organic.snapshot.context.nudging!.wakeAt).toBe(t0 + 2 * DAY);
    expect(sends(organic.decide(t0 + 2 * DAY, rules, shippedPolicy(), risk))).toHaveLength(1);
  });

  it('does not act while the curves cannot tell (or nothing was measured), and looks again a day later', () => {
    const direct = new Journey('direct-1', 'direct');
    expect(direct.decide(t0 + 5 * DAY, riskRules({ risk: { above: 0.8 } }), shippedPolicy(), risk)).toEqual([]);
    expect(direct.snapshot.context.nudging!.wakeAt).toBe(t0 + 6 * DAY);
    const unmeasured = new Journey('paid-2', 'paid');
    expect(unmeasured.decide(t0 + 5 * DAY, riskRules({ risk: { above: 0.8 } }), shippedPolicy())).toEqual([]);
  });

  it("escalates a risk stall when the developer's risk crosses, before `after`; `after` still holds for the others", () => {
    const policy = shippedPolicy({ risk: { above: 0.7 } });
    const stallRisk = crossings('stall:no-first-call', { [riskSegmentKey('paid', 'individual')]: 2 * DAY, [riskSegmentKey('organic_search', 'individual')]: 9 * DAY });
    const rules = riskRules({ after: '30d' });
    const paid = new Journey('paid-3', 'paid');
    expect(escalations(paid.decide(t0 + DAY, rules, policy, stallRisk))).toEqual([]);
    expect(paid.snapshot.context.handoff!.wakeAt).toBe(t0 + 2 * DAY);
    const [opened] = escalations(paid.decide(t0 + 2 * DAY, rules, policy, stallRisk));
    expect(opened!.case).toMatchObject({ criterion: 'stall:no-first-call', reason: 'stagnation risk in credential provisioned above 70% after 2 days' });
    expect(opened!.detail).toMatchObject({ risk: { above: 0.7, curvesAsOf: iso(t0 - DAY) } });

    // A later crossing than `after`: the plain stall at 7 d.
    const organic = new Journey('organic-3', 'organic_search');
    expect(escalations(organic.decide(t0 + 6 * DAY, rules, policy, stallRisk))).toEqual([]);
    const [plain] = escalations(organic.decide(t0 + 7 * DAY, rules, policy, stallRisk));
    expect(plain!.case.reason).toBe('no first api call 7 days after credential provisioned');

    // Past `since` (a first call, no integration yet) the risk of `since` no longer applies.
    const moved = new Journey('paid-4', 'paid');
    moved.send({ id: 'r1#first_api_call', type: 'api.milestone', stage: 'first_api_call', occurredAt: iso(t0 + HOUR), causeEventId: 'r1' });
    const stalls = shippedPolicy({ until: 'active_integration', risk: { above: 0.7 } });
    expect(escalations(moved.decide(t0 + 3 * DAY, rules, stalls, stallRisk))).toEqual([]);
  });
});
