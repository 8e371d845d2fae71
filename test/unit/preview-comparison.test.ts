import { describe, expect, it } from 'vitest';
import { comparePreviews, formatComparison, type Treatments } from '../../src/preview/preview-comparison.ts';
import type { PreviewOutcome, RulePreviewLine } from '../../src/preview/preview-report.ts';

/** The candidate against the rules in force, on two outcomes written by hand. */

const line = (rule: string, over: Partial<RulePreviewLine>): RulePreviewLine => ({ rule, sent: 0, templates: {}, escalated: 0, deferred: 0, skipped: {}, cancelled: {}, ...over });
const outcome = (rules: RulePreviewLine[], escalations: Record<string, number>, developersEscalated: number): PreviewOutcome => ({
  developers: 3,
  stages: {},
  rules,
  emails: rules.reduce((n, l) => n + l.sent, 0),
  escalations,
  developersEscalated,
  effects: {
    frequencyCap: rules.reduce((n, l) => n + (l.skipped.frequency_cap ?? 0), 0),
    holdout: rules.reduce((n, l) => n + (l.skipped.holdout ?? 0), 0),
    quietHours: { deferred: rules.reduce((n, l) => n + l.deferred, 0), thenSent: 0, thenCancelled: 0, stillWaiting: 0 },
  },
});

const inForce = {
  outcome: outcome(
    [line('welcome', { sent: 3, templates: { welcome: 3 }, deferred: 1, skipped: { holdout: 1 } }), line('second', { sent: 2, templates: { second: 2 } })],
    { 'stall:no-first-call': 2 },
    2,
  ),
  treatments: new Map([
    ['dev_a', ['second#1 sent → second', 'welcome#1 sent → welcome']],
    ['dev_b', ['second#1 sent → second', 'welcome#1 sent → welcome']],
    ['dev_c', ['escalated: stall:no-first-call', 'welcome#1 sent → welcome']],
  ]) as Treatments,
};
// The candidate drops `second` for a cap of 1 (dev_a, dev_b) and adds `tips`, sent once to dev_c.
const candidate = {
  outcome: outcome(
    [
      line('welcome', { sent: 3, templates: { welcome: 3 }, deferred: 1, skipped: { holdout: 1 } }),
      line('second', { skipped: { frequency_cap: 2 } }),
      line('tips', { sent: 1, templates: { tips: 1 } }),
    ],
    { 'stall:no-first-call': 2, 'rule:tips': 1 },
    2,
  ),
  treatments: new Map([
    ['dev_a', ['second#1 skipped (frequency_cap) → second', 'welcome#1 sent → welcome']],
    ['dev_b', ['second#1 skipped (frequency_cap) → second', 'welcome#1 sent → welcome']],
    ['dev_c', ['escalated: stall:no-first-call', 'escalated: rule:tips', 'tips#1 sent → tips', 'welcome#1 sent → welcome']],
  ]) as Treatments,
};

describe('comparePreviews', () => {
  const c = comparePreviews('config/rules.yaml', inForce, candidate);

  it('adds up the totals both ways: 5 → 4 sends, 2 → 3 cases, 0 → 2 held by the cap, 3 developers changed', () => {
    expect(c.totals).toEqual({
      sends: { baseline: 5, candidate: 4 },
      escalations: { baseline: 2, candidate: 3 },
      'escalated-developers': { baseline: 2, candidate: 2 },
      'frequency-cap': { baseline: 0, candidate: 2 },
      'quiet-hours': { baseline: 1, candidate: 1 },
      holdout: { baseline: 1, candidate: 1 },
      'changed-developers': { baseline: 0, candidate: 3 },
    });
  });

  it('per rule (a rule only one side has counts 0 on the other), per template and per criterion', () => {
    expect(c.rules.map((r) => [r.rule, r.sends, r.frequencyCap])).toEqual([
      ['welcome', { baseline: 3, candidate: 3 }, { baseline: 0, candidate: 0 }],
      ['second', { baseline: 2, candidate: 0 }, { baseline: 0, candidate: 2 }],
      ['tips', { baseline: 0, candidate: 1 }, { baseline: 0, candidate: 0 }],
    ]);
    expect(c.templates).toEqual([
      { template: 'second', sends: { baseline: 2, candidate: 0 } },
      { template: 'tips', sends: { baseline: 0, candidate: 1 } },
      { template: 'welcome', sends: { baseline: 3, candidate: 3 } },
    ]);
    expect(c.escalations).toEqual([
      { criterion: 'rule:tips', cases: { baseline: 0, candidate: 1 } },
      { criterion: 'stall:no-first-call', cases: { baseline: 2, candidate: 2 } },
    ]);
  });

  it('each changed developer with only the lines that differ; an unchanged one is not listed', () => {
    expect(c.changedDevelopers).toEqual([
      { developerId: 'dev_a', inForceOnly: ['second#1 sent → second'], candidateOnly: ['second#1 skipped (frequency_cap) → second'] },
      { developerId: 'dev_b', inForceOnly: ['second#1 sent → second'], candidateOnly: ['second#1 skipped (frequency_cap) → second'] },
      { developerId: 'dev_c', inForceOnly: [], candidateOnly: ['escalated: rule:tips', 'tips#1 sent → tips'] },
    ]);
    expect(comparePreviews('x', inForce, inForce).changedDevelopers).toEqual([]);
  });

  it('counts a line twice when it happens twice (two cases on one side, one on the other)', () => {
    const twice = { ...inForce, treatments: new Map([['dev_c', ['escalated: stall:no-first-call', 'escalated: stall:no-first-call']]]) as Treatments };
    const once = { ...inForce, treatments: new Map([['dev_c', ['escalated: stall:no-first-call']]]) as Treatments };
    expect(comparePreviews('x', twice, once).changedDevelopers).toEqual([{ developerId: 'dev_c', inForceOnly: ['escalated: stall:no-first-call'], candidateOnly: [] }]);
  });

  it('the text: totals with the change, "in force → candidate" where they differ, the developers with - and +', () => {
    const text = formatComparison(c);
    expect(text).toMatch(/^sends +5 +4 +-1, -20\.0%$/m);
    expect(text).toMatch(/^changed-developers +0 +3 +\+3$/m);
    expect(text).toMatch(/^ {2}second +2 → 0 +0 +0 → 2 +0 +0$/m);
    expect(text).toContain('developers whose treatment changes: 3\n  dev_a\n    - second#1 sent → second\n    + second#1 skipped (frequency_cap) → second');
  });
});
