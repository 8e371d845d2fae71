import { describe, expect, it } from 'vitest';
import {
  describeChange,
  evaluateFailIf,
  FAIL_IF_METRICS,
  FailIfSyntaxError,
  holds,
  measured,
  parseFailIf,
  type ComparedFigure,
  type FailIfMetric,
} from '../../src/preview/fail-if.ts';

/** `--fail-if` thresholds of `onramp rules preview`: the grammar and each kind of value, on figures counted by hand. */

describe('parseFailIf', () => {
  it.each([
    ['sends > +20%', { metric: 'sends', operator: '>', kind: 'percent', value: 20 }],
    ['sends < -50%', { metric: 'sends', operator: '<', kind: 'percent', value: -50 }],
    ['escalations > +5', { metric: 'escalations', operator: '>', kind: 'change', value: 5 }],
    ['changed-developers > 100', { metric: 'changed-developers', operator: '>', kind: 'absolute', value: 100 }],
    ['  holdout<=-2.5 ', { metric: 'holdout', operator: '<=', kind: 'change', value: -2.5 }],
    ['frequency-cap>=+12.5 %', { metric: 'frequency-cap', operator: '>=', kind: 'percent', value: 12.5 }],
  ])('%s', (text, expected) => {
    expect(parseFailIf(text)).toEqual({ text: text.trim(), ...expected });
  });

  it.each([
    ['mails > 3', /unknown figure "mails"; one of sends, escalations/],
    ['> 3', /no figure/],
    ['sends = 3', /expected an operator \(>=, <=, >, <\) after "sends"/],
    ['sends >', /expected a number after ">"/],
    ['sends > lots', /expected a number after ">"/],
    ['sends > +20%%', /expected a number after ">"/],
    ['sends > 20%', /a percentage is a change from the rules in force: write \+20% or -20%/],
  ])('refuses %s, naming the problem', (text, message) => {
    expect(() => parseFailIf(text)).toThrow(FailIfSyntaxError);
    expect(() => parseFailIf(text)).toThrow(message);
  });
});

describe('evaluating a threshold', () => {
  const f = (baseline: number, candidate: number): ComparedFigure => ({ baseline, candidate });

  it('a percentage is the change over the figure in force: 120 → 150 is +25%', () => {
    expect(measured(parseFailIf('sends > +20%'), f(120, 150))).toBe(25);
    expect(holds(parseFailIf('sends > +20%'), f(120, 150))).toBe(true);
    expect(holds(parseFailIf('sends > +25%'), f(120, 150))).toBe(false); // exactly 25: not above
    expect(holds(parseFailIf('sends >= +25%'), f(120, 150))).toBe(true);
    // 200 → 90: −55%; below −50% holds, a rise threshold does not.
    expect(measured(parseFailIf('sends < -50%'), f(200, 90))).toBe(-55);
    expect(holds(parseFailIf('sends < -50%'), f(200, 90))).toBe(true);
    expect(holds(parseFailIf('sends < -50%'), f(200, 101))).toBe(false); // −49.5%
    expect(holds(parseFailIf('sends > +20%'), f(200, 90))).toBe(false);
  });

  it('from 0, any rise is an infinite percentage and no change is 0%', () => {
    expect(holds(parseFailIf('sends > +1000%'), f(0, 1))).toBe(true);
    expect(holds(parseFailIf('sends > +20%'), f(0, 0))).toBe(false);
    expect(holds(parseFailIf('sends < -20%'), f(0, 0))).toBe(false);
  });

  it('a signed number is the change; an unsigned one the candidate’s own figure', () => {
    expect(holds(parseFailIf('escalations > +5'), f(10, 16))).toBe(true); // +6
    expect(holds(parseFailIf('escalations > +5'), f(10, 15))).toBe(false); // +5
    expect(holds(parseFailIf('escalations < -3'), f(10, 6))).toBe(true); // −4
    expect(holds(parseFailIf('escalations > 15'), f(10, 16))).toBe(true); // 16 itself
    expect(holds(parseFailIf('escalations > 15'), f(20, 15))).toBe(false);
    expect(holds(parseFailIf('changed-developers > 100'), f(0, 101))).toBe(true);
    expect(holds(parseFailIf('changed-developers > 100'), f(0, 100))).toBe(false);
  });

  it('evaluateFailIf reads each threshold’s own figure and says what it measured', () => {
    const figures = Object.fromEntries(FAIL_IF_METRICS.map((m) => [m, f(0, 0)])) as Record<FailIfMetric, ComparedFigure>;
    figures.sends = f(120, 150);
    figures.escalations = f(4, 5);
    const verdicts = evaluateFailIf([parseFailIf('sends > +20%'), parseFailIf('escalations > +5')], figures);
    expect(verdicts.map((v) => [v.threshold.text, v.tripped, v.detail])).toEqual([
      ['sends > +20%', true, 'sends: 120 → 150 (+30, +25.0%)'],
      ['escalations > +5', false, 'escalations: 4 → 5 (+1, +25.0%)'],
    ]);
    expect(describeChange(f(0, 3))).toBe('0 → 3 (+3)');
    expect(describeChange(f(8, 6))).toBe('8 → 6 (-2, -25.0%)');
    expect(describeChange(f(4, 4))).toBe('4 → 4 (no change)');
  });
});
