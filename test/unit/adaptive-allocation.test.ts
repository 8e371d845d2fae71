import { describe, expect, it } from 'vitest';
import { assignVariant, experimentDraw, type ExperimentAllocations } from '../../src/journey/experiment-assignment.ts';
import type { JourneyEvent } from '../../src/journey/journey-event.ts';
import { applyJourneyEvent, startJourney } from '../../src/journey/journey-runtime.ts';
import { decideNudges, holdoutBucket, initialNudgeState, type NudgeState } from '../../src/journey/nudging.ts';
import { SHIPPED_STAGES } from '../../src/journey/stages.ts';
import { documentAllocation, flooredShares, probabilityOfBest, thompsonAllocation, weightsDiffer } from '../../src/metrics/thompson-allocation.ts';
import { parseRulesSource, type RulesFileError } from '../../src/rules/rules-file.ts';
import { escalationPolicyDocument, type ActivePolicy } from '../../src/rules/escalation-policy-schema.ts';
import type { ActiveRules } from '../../src/rules/rules-schema.ts';

const HOUR = 3_600_000;

function rulesWith(adaptive: string, variants = ['{ id: a, send: first-call-help }', '{ id: b, send: first-call-guided }']): string {
  return [
    'policy: { holdoutPercent: 10, quietHours: { start: "00:00", end: "00:00" } }',
    'rules:',
    '  - id: first-call-help',
    '    when: { stage: credential_provisioned, after: 24h }',
    '    action:',
    '      experiment:',
    '        id: subject-test',
    '        goal: first_api_call',
    '        window: 7d',
    `        variants: [${variants.join(', ')}]`,
    ...(adaptive ? [`        adaptive: ${adaptive}`] : []),
  ].join('\n');
}

function errorsOf(source: string): Pick<RulesFileError, 'path' | 'message'>[] {
  const result = parseRulesSource(source);
  if (result.ok) throw new Error('expected the source to be rejected');
  return result.errors.map(({ path, message }) => ({ path, message }));
}

describe('adaptive allocation in the rules: validation', () => {
  it('accepts `adaptive` with a floor, `every` defaulting to 1d and `minPerVariant` to 50', () => {
    const result = parseRulesSource(rulesWith('{ floor: 0.1 }'));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const action = result.document.rules[0]!.action;
    expect('experiment' in action && action.experiment.adaptive).toEqual({ floor: 0.1, every: '1d', minPerVariant: 50 });
  });

  it('names the field: a floor the variants cannot all have, a floor of 0, a period under an hour, an unknown key', () => {
    const three = ['{ id: a, send: first-call-help }', '{ id: b, send: first-call-guided }', '{ id: c, send: first-call-help }'];
    const base = 'rules[0].action.experiment.adaptive';
    expect(errorsOf(rulesWith('{ floor: 0.4 }', three))).toEqual([{ path: `${base}.floor`, message: 'a floor of 0.4 for each of 3 variants exceeds the whole' }]);
    expect(errorsOf(rulesWith('{ floor: 0 }'))).toEqual([{ path: `${base}.floor`, message: 'must be above 0' }]);
    expect(errorsOf(rulesWith('{ floor: 0.1, every: 30m }'))).toEqual([{ path: `${base}.every`, message: 'must be at least 1h' }]);
    expect(errorsOf(rulesWith('{ floor: 0.1, minPerVariant: 0 }'))).toMatchObject([{ path: `${base}.minPerVariant` }]);
    expect(errorsOf(rulesWith('{ floor: 0.1, flor: 0.2 }'))).toMatchObject([{ path: `${base}.flor` }]);
  });
});

describe('Thompson allocation', () => {
  const clear = [
    { variant: 'a', measured: 200, converted: 30 }, // 15 %
    { variant: 'b', measured: 200, converted: 48 }, // 24 %
  ];

  it('gives a clearly better variant nearly all of P(best), and the weight, the other keeping the floor', () => {
    const allocation = thompsonAllocation(clear, { floor: 0.1, minPerVariant: 50 })!;
    const [a, b] = allocation.arms.map((arm) => arm.pBest!);
    // P(b > a) by the normal approximation: (0.24 − 0.15) / √(0.15·0.85/200 + 0.24·0.76/200) ≈ 2.3 sd → 0.99.
    expect(b).toBeGreaterThan(0.97);
    expect(a! + b!).toBeCloseTo(1, 10);
    expect(allocation.weights).toEqual({ a: 0.1, b: 0.9 });
    expect(allocation.reason).toBe(`variant b converts 24% of 200 vs a 15% of 200; P(best) ${b!.toFixed(2)}`);
  });

  it('keeps two equal variants near half each', () => {
    const { weights } = thompsonAllocation(
      [
        { variant: 'a', measured: 100, converted: 20 },
        { variant: 'b', measured: 100, converted: 20 },
      ],
      { floor: 0.1, minPerVariant: 50 },
    )!;
    expect(Math.abs(weights.a! - 0.5)).toBeLessThan(0.02); // 10,000 draws: sd 0.005
  });

  it('estimates P(best) as the exact integral does (two arms, within 3 sd of 10,000 draws)', () => {
    // Beta(3, 9) vs Beta(5, 7): P(Y > X) = Σ_{i=0}^{4} B(3+i, 16)/((7+i)·B(1+i, 7)·B(3, 9)), computed below.
    const lnB = (x: number, y: number) => lnGamma(x) + lnGamma(y) - lnGamma(x + y);
    const [a, b, c, d] = [3, 9, 5, 7];
    let exact = 0;
    for (let i = 0; i < c; i++) exact += Math.exp(lnB(a + i, b + d) - Math.log(d + i) - lnB(1 + i, d) - lnB(a, b));
    const [, pB] = probabilityOfBest([
      { variant: 'x', measured: 10, converted: 2 },
      { variant: 'y', measured: 10, converted: 4 },
    ]);
    expect(Math.abs(pB! - exact)).toBeLessThan(3 * Math.sqrt((exact * (1 - exact)) / 10_000));
  });

  it('never goes below the floor, even with three arms where flooring then renormalising would', () => {
    expect(flooredShares([0.98, 0.01, 0.01], 0.1).map((s) => +s.toFixed(10))).toEqual([0.8, 0.1, 0.1]);
    expect(flooredShares([0.6, 0.35, 0.05], 0.2).map((s) => +s.toFixed(10))).toEqual([0.5052631579, 0.2947368421, 0.2]);
    const { weights } = thompsonAllocation(
      [
        { variant: 'a', measured: 500, converted: 50 },
        { variant: 'b', measured: 500, converted: 150 },
        { variant: 'c', measured: 500, converted: 60 },
      ],
      { floor: 0.15, minPerVariant: 50 },
    )!;
    expect(Math.min(...Object.values(weights))).toBeGreaterThanOrEqual(0.15 - 1e-12);
    expect(Object.values(weights).reduce((s, w) => s + w)).toBeCloseTo(1, 12);
    expect(weights.b).toBeCloseTo(0.7, 12);
  });

  it('gives the same output for the same input', () => {
    expect(thompsonAllocation(clear, { floor: 0.1, minPerVariant: 50 })).toEqual(thompsonAllocation(clear, { floor: 0.1, minPerVariant: 50 }));
    expect(probabilityOfBest(clear, 5_000)).toEqual(probabilityOfBest(clear, 5_000));
  });

  it('moves nothing until every variant has minPerVariant measured developers', () => {
    expect(thompsonAllocation([clear[0]!, { variant: 'b', measured: 49, converted: 40 }], { floor: 0.1, minPerVariant: 50 })).toBeNull();
    expect(thompsonAllocation([clear[0]!, { variant: 'b', measured: 50, converted: 40 }], { floor: 0.1, minPerVariant: 50 })).not.toBeNull();
  });

  it("explains the document's weights, as shares, by the variant short of data", () => {
    const arms = [
      { variant: 'a', measured: 120, converted: 20 },
      { variant: 'b', measured: 40, converted: 10 },
    ];
    expect(
      documentAllocation(
        [
          { id: 'a', weight: 3 },
          { id: 'b', weight: 1 },
        ],
        arms,
        50,
      ),
    ).toEqual({
      weights: { a: 0.75, b: 0.25 },
      arms: arms.map((arm) => ({ ...arm, pBest: null })),
      reason: "the document's weights: variant b has 40 measured, fewer than 50",
    });
  });

  it('calls weights changed only past rounding to whole percent', () => {
    expect(weightsDiffer({ a: 0.5, b: 0.5 }, { a: 0.502, b: 0.498 })).toBe(false);
    expect(weightsDiffer({ a: 0.5, b: 0.5 }, { a: 0.51, b: 0.49 })).toBe(true);
    expect(weightsDiffer({ a: 0.5, b: 0.5 }, { a: 0.5, c: 0.5 })).toBe(true);
  });
});

describe('the journey machine with adaptive allocations', () => {
  const result = parseRulesSource(rulesWith('{ floor: 0.1 }'));
  if (!result.ok) throw new Error('rules');
  const rules: ActiveRules = { version: 4, document: result.document };
  const experiment = {
    id: 'subject-test',
    variants: [
      { id: 'a', weight: 1 },
      { id: 'b', weight: 1 },
    ],
  };
  const t0 = Date.UTC(2026, 10, 2, 12);
  const evidence = { credential_provisioned: { occurredAt: new Date(t0).toISOString(), eventId: 'k' } };
  const ids = Array.from({ length: 2000 }, (_, i) => `dev_${i}`).filter((id) => holdoutBucket(id) >= 1000);
  const variantOf = (id: string, allocations?: Record<string, Record<string, number>>) => {
    const { effects } = decideNudges({
      developerId: id,
      evidence,
      stages: SHIPPED_STAGES,
      state: initialNudgeState(),
      rules,
      now: t0 + 24 * HOUR,
      ...(allocations ? { allocations } : {}),
    });
    return (effects[0] as { decision: { experiment: { variant: string } } }).decision.experiment.variant;
  };

  it('draws new developers with the given weights: the same hash, other cut points', () => {
    const adaptive = { 'subject-test': { a: 0.1, b: 0.9 } };
    const drawn = ids.map((id) => variantOf(id, adaptive));
    const shareB = drawn.filter((v) => v === 'b').length / drawn.length;
    expect(Math.abs(shareB - 0.9)).toBeLessThan(0.03); // ~1,800 developers: sd 0.007
    // Every developer in a under 10/90 is in a under 50/50 too: the draw did not change, only the cut.
    for (const [i, id] of ids.entries()) if (drawn[i] === 'a') expect(variantOf(id)).toBe('a');
    expect(ids.map((id) => assignVariant(id, experiment, adaptive['subject-test']).id)).toEqual(drawn);
  });

  it('keeps the variant a developer was drawn into when the rule acts again under other weights', () => {
    const id = ids.find((d) => experimentDraw(d, 'subject-test') >= 0.5 && experimentDraw(d, 'subject-test') < 0.9)!;
    const decide = (state: NudgeState, allocations: ExperimentAllocations) =>
      decideNudges({ developerId: id, evidence, stages: SHIPPED_STAGES, state, rules, now: t0 + 24 * HOUR, allocations });
    const first = decide(initialNudgeState(), { 'subject-test': { a: 0.9, b: 0.1 } });
    expect(first.state.adaptiveArms).toEqual({ 'subject-test': 'a' });
    // The rule acts again (its count reset, as a second firing would find it) after the weights moved to b.
    const again = (state: NudgeState) => decide({ ...state, fired: {} }, { 'subject-test': { a: 0.1, b: 0.9 } }).effects[0] as { decision: { experiment: unknown } };
    expect(again(first.state).decision.experiment).toEqual({ id: 'subject-test', variant: 'a' });
    // Without the remembered arm, the fresh draw would have moved them.
    expect(again({ ...first.state, adaptiveArms: undefined }).decision.experiment).toEqual({ id: 'subject-test', variant: 'b' });
  });

  it('remembers no arm for an experiment that is not adaptive (its decisions and state are as they were)', () => {
    const fixed = parseRulesSource(rulesWith(''));
    if (!fixed.ok) throw new Error('rules');
    const { state } = decideNudges({
      developerId: ids[0]!,
      evidence,
      stages: SHIPPED_STAGES,
      state: initialNudgeState(),
      rules: { version: 4, document: fixed.document },
      now: t0 + 24 * HOUR,
    });
    expect(state).not.toHaveProperty('adaptiveArms');
  });

  it("draws with the document's weights without allocations, or with an allocation that does not weigh every variant", () => {
    const plain = ids.map((id) => variantOf(id));
    expect(Math.abs(plain.filter((v) => v === 'b').length / plain.length - 0.5)).toBeLessThan(0.04);
    expect(ids.map((id) => variantOf(id, { 'subject-test': { b: 0.9, c: 0.1 } }))).toEqual(plain);
    expect(ids.map((id) => variantOf(id, { 'other-test': { a: 0.1, b: 0.9 } }))).toEqual(plain);
  });
});

describe('the journey machine hands the allocations of the nudge.decide event to the decision', () => {
  const result = parseRulesSource(rulesWith('{ floor: 0.1 }'));
  if (!result.ok) throw new Error('rules');
  const rules: ActiveRules = { version: 4, document: { ...result.document, policy: { ...result.document.policy, holdoutPercent: 0 } } };
  const policy: ActivePolicy = { version: 2, document: escalationPolicyDocument.parse({ criteria: { stalls: [] } }) };
  const t0 = Date.UTC(2026, 10, 2, 12);
  // Draws in [0.1, 0.5): a under the document's even weights, b under 0.1 / 0.9.
  const id = Array.from({ length: 100 }, (_, i) => `dev_m_${i}`).find((d) => experimentDraw(d, 'subject-test') >= 0.1 && experimentDraw(d, 'subject-test') < 0.5)!;
  const variantThrough = (withPolicy: boolean, allocations?: ExperimentAllocations) => {
    let snapshot = startJourney({ developerId: id });
    const events: JourneyEvent[] = [
      { id: 's', type: 'developer.signed_up', occurredAt: new Date(t0).toISOString(), properties: { accountType: 'individual', acquisitionChannel: 'paid', timezone: 'UTC' } },
      { id: 'k', type: 'api_key.created', occurredAt: new Date(t0).toISOString(), properties: { mode: 'test' } },
    ];
    for (const event of events) snapshot = applyJourneyEvent(snapshot, event).snapshot;
    const { effects } = applyJourneyEvent(snapshot, {
      type: 'nudge.decide',
      now: t0 + 24 * HOUR,
      rules,
      ...(withPolicy ? { policy } : {}),
      ...(allocations ? { allocations } : {}),
    });
    return effects.flatMap((e) => (e.type === 'sendNudge' ? [e.decision.experiment?.variant] : e.type === 'recordNudgeDecision' ? [e.experiment?.variant] : []));
  };

  it.each([true, false])('with an escalation policy: %s', (withPolicy) => {
    expect(variantThrough(withPolicy, { 'subject-test': { a: 0.1, b: 0.9 } })).toEqual(['b']);
    expect(variantThrough(withPolicy)).toEqual(['a']);
  });
});

/** ln Γ(x) by Lanczos (g = 7, n = 9): accurate to ~15 digits for the small arguments above. */
function lnGamma(x: number): number {
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}
