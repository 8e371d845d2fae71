import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { rulesStageIssues } from '../../src/funnel/funnel-references.ts';
import { assignVariant, experimentDraw } from '../../src/journey/experiment-assignment.ts';
import { decideNudges, holdoutBucket, initialNudgeState } from '../../src/journey/nudging.ts';
import { SHIPPED_STAGES } from '../../src/journey/stages.ts';
import { EmailTemplates } from '../../src/mail/email-templates.ts';
import { promoteVariant } from '../../src/rules/promote-variant.ts';
import { parseRulesSource, rulesFormatWithTemplates, type RulesFileError } from '../../src/rules/rules-file.ts';
import type { ActiveRules, Experiment } from '../../src/rules/rules-schema.ts';
import { shippedFunnel } from '../support/shipped-funnel.ts';

const HOUR = 3_600_000;

/** A rules file whose first-call-help rule runs `experiment` (YAML lines under `experiment:`). */
function withExperiment(experiment: string[], extraRules: string[] = []): string {
  return [
    'policy: { holdoutPercent: 10, quietHours: { start: "00:00", end: "00:00" } }',
    'rules:',
    '  - id: first-call-help',
    '    when: { stage: credential_provisioned, after: 24h }',
    '    action:',
    '      experiment:',
    ...experiment.map((line) => `        ${line}`),
    ...extraRules,
  ].join('\n');
}

const SUBJECT_TEST = [
  'id: subject-test',
  'goal: first_api_call',
  'window: 7d',
  'variants:',
  '  - { id: a, send: first-call-help, weight: 50 }',
  '  - { id: b, send: first-call-guided, after: 48h, weight: 50 }',
];

function parsed(source: string): ActiveRules {
  const result = parseRulesSource(source);
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return { version: 3, document: result.document };
}

function errorsOf(source: string): Pick<RulesFileError, 'path' | 'message'>[] {
  const result = parseRulesSource(source);
  if (result.ok) throw new Error('expected the source to be rejected');
  return result.errors.map(({ path, message }) => ({ path, message }));
}

describe('experiment assignment (a stable hash of experiment and developer)', () => {
  it('draws the same number for the same pair, every time and on every machine (pinned values)', () => {
    expect(experimentDraw('dev_1', 'subject-test')).toBe(0.3426354113034904);
    expect(experimentDraw('dev_2', 'subject-test')).toBe(0.8670659800991416);
    // Another experiment draws anew for the same developer.
    expect(experimentDraw('dev_1', 'other')).toBe(0.8393478817306459);
  });

  it('splits 100,000 developers by the weights (within 1 point), independently of the holdout', () => {
    const experiment = {
      id: 'subject-test',
      variants: [
        { id: 'a', weight: 50 },
        { id: 'b', weight: 30 },
        { id: 'c', weight: 20 },
      ],
    };
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    const heldOut: Record<string, number> = { a: 0, b: 0, c: 0 };
    const N = 100_000;
    for (let i = 0; i < N; i++) {
      const id = `dev_${i}`;
      const { id: variant } = assignVariant(id, experiment);
      counts[variant]!++;
      if (holdoutBucket(id) < 1000) heldOut[variant]!++;
    }
    // Binomial sd of a share p over 100k: √(0.25/100000) ≈ 0.0016 at most, so ±0.01 is > 6 sd.
    expect(Math.abs(counts.a! / N - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(counts.b! / N - 0.3)).toBeLessThan(0.01);
    expect(Math.abs(counts.c! / N - 0.2)).toBeLessThan(0.01);
    // The 10 % holdout (FNV of the id alone) falls evenly across the variants: no correlation.
    for (const v of ['a', 'b', 'c']) expect(Math.abs(heldOut[v]! / counts[v]! - 0.1)).toBeLessThan(0.01);
  });
});

describe('an experiment in the rules: validation', () => {
  it('accepts the documented shape, weights defaulting to 1', () => {
    const rules = parsed(withExperiment(['id: t', 'goal: first_api_call', 'window: 7d', 'send: first-call-help', 'variants: [{ id: a }, { id: b, after: 48h }]']));
    const action = rules.document.rules[0]!.action;
    expect(action).toEqual({
      experiment: {
        id: 't',
        goal: 'first_api_call',
        window: '7d',
        send: 'first-call-help',
        variants: [
          { id: 'a', weight: 1 },
          { id: 'b', after: '48h', weight: 1 },
        ],
      },
    });
  });

  it('names the field of each error: a weight not positive, a duplicate variant id, a variant without a template, one variant only', () => {
    expect(
      errorsOf(
        withExperiment([
          'id: t',
          'goal: first_api_call',
          'window: 7d',
          'variants:',
          '  - { id: a, send: first-call-help, weight: 0 }',
          '  - { id: a, send: first-call-guided, weight: -5 }',
          '  - { id: c }',
        ]),
      ),
    ).toEqual([
      { path: 'rules[0].action.experiment.variants[0].weight', message: 'must be positive' },
      { path: 'rules[0].action.experiment.variants[1].id', message: 'duplicate variant id "a"' },
      { path: 'rules[0].action.experiment.variants[1].weight', message: 'must be positive' },
      { path: 'rules[0].action.experiment.variants[2].send', message: 'needs a template: give the variant `send`, or the experiment one' },
    ]);
    expect(errorsOf(withExperiment(['id: t', 'goal: first_api_call', 'window: 7d', 'variants: [{ id: a, send: first-call-help }]']))).toEqual([
      { path: 'rules[0].action.experiment.variants', message: 'an experiment needs at least two variants' },
    ]);
    expect(errorsOf(withExperiment(['id: t', 'goal: first_api_call', 'window: soon', 'variants: [{ id: a, send: x }, { id: b, send: y }]']))).toEqual([
      { path: 'rules[0].action.experiment.window', message: 'must be a positive duration like "90m", "24h" or "3d"' },
    ]);
  });

  it('refuses one experiment id on two rules', () => {
    const second = ['  - id: explore', '    when: { stage: first_api_call, after: 3d }', '    action:', '      experiment:', ...SUBJECT_TEST.map((l) => `        ${l}`)];
    expect(errorsOf(withExperiment(SUBJECT_TEST, second))).toEqual([{ path: 'rules[1].action.experiment.id', message: 'duplicate experiment id "subject-test"' }]);
  });

  it("refuses a variant's template the folder does not have, with its line", () => {
    const format = rulesFormatWithTemplates(new EmailTemplates(fileURLToPath(new URL('../../templates', import.meta.url))));
    expect(format.parse(withExperiment(SUBJECT_TEST)).ok).toBe(true);
    const source = withExperiment(SUBJECT_TEST.map((l) => l.replace('first-call-guided', 'first-call-guidd')));
    const result = format.parse(source);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      {
        path: 'rules[0].action.experiment.variants[1].send',
        rule: 'first-call-help',
        message: expect.stringMatching(/^no template "first-call-guidd" \(templates: .*first-call-guided/),
        line: source.split('\n').findIndex((l) => l.includes('first-call-guidd')) + 1,
        column: expect.any(Number),
      },
    ]);
  });

  it('refuses a goal that is no stage of the funnel, or not after the stage the rule waits in', () => {
    const unknown = parsed(withExperiment(SUBJECT_TEST.map((l) => l.replace('first_api_call', 'first_call'))));
    expect(rulesStageIssues(shippedFunnel, unknown.document)).toEqual([
      {
        path: ['rules', 0, 'action', 'experiment', 'goal'],
        rule: 'first-call-help',
        message: expect.stringMatching(/^no stage "first_call" in the funnel \(its stages: intent, /),
      },
    ]);
    const earlier = parsed(withExperiment(SUBJECT_TEST.map((l) => l.replace('first_api_call', 'account_created'))));
    expect(rulesStageIssues(shippedFunnel, earlier.document)).toEqual([
      {
        path: ['rules', 0, 'action', 'experiment', 'goal'],
        rule: 'first-call-help',
        message: 'the goal must be a later stage than the rule\'s `when.stage` in the funnel ("account_created" is not after "credential_provisioned")',
      },
    ]);
    expect(rulesStageIssues(shippedFunnel, parsed(withExperiment(SUBJECT_TEST)).document)).toEqual([]);
  });
});

describe('an experiment in the nudge decisions', () => {
  const rules = parsed(withExperiment(SUBJECT_TEST));
  const t0 = Date.UTC(2026, 10, 2, 12);
  const evidence = { credential_provisioned: { occurredAt: new Date(t0).toISOString(), eventId: 'k' } };
  const decide = (developerId: string, now: number, state = initialNudgeState()) => decideNudges({ developerId, evidence, stages: SHIPPED_STAGES, state, rules, now });
  /** Developers by arm: not held out (bucket ≥ 1000 of 10,000) and drawn into a / b; held out. */
  const ids = Array.from({ length: 200 }, (_, i) => `dev_${i}`);
  const inVariant = (v: string) =>
    ids.find((id) => holdoutBucket(id) >= 1000 && assignVariant(id, (rules.document.rules[0]!.action as { experiment: Experiment }).experiment).id === v)!;
  const heldOut = ids.find((id) => holdoutBucket(id) < 1000)!;

  it("sends variant a's template at the rule's own wait, recording the arm", () => {
    const developer = inVariant('a');
    expect(decide(developer, t0 + 23 * HOUR).state.wakeAt).toBe(t0 + 24 * HOUR);
    const { effects } = decide(developer, t0 + 24 * HOUR);
    expect(effects).toEqual([
      expect.objectContaining({ type: 'sendNudge', template: 'first-call-help', decision: expect.objectContaining({ experiment: { id: 'subject-test', variant: 'a' } }) }),
    ]);
  });

  it('assigns variant b at the same 24 h (recorded, scheduled), then sends its template at its own 48 h', () => {
    const developer = inVariant('b');
    const first = decide(developer, t0 + 24 * HOUR);
    expect(first.effects).toEqual([
      expect.objectContaining({
        outcome: 'scheduled',
        reason: 'experiment_delay',
        template: 'first-call-guided',
        scheduledFor: new Date(t0 + 48 * HOUR).toISOString(),
        experiment: { id: 'subject-test', variant: 'b' },
      }),
    ]);
    expect(first.state.wakeAt).toBe(t0 + 48 * HOUR);
    expect(decide(developer, t0 + 30 * HOUR, first.state).effects).toEqual([]);
    const second = decide(developer, t0 + 48 * HOUR, first.state);
    expect(second.effects).toEqual([
      expect.objectContaining({ type: 'sendNudge', template: 'first-call-guided', decision: expect.objectContaining({ experiment: { id: 'subject-test', variant: 'b' } }) }),
    ]);
  });

  it('keeps the variant drawn while its delay runs, even if a new rules version weighs the variants otherwise', () => {
    const developer = inVariant('b');
    const first = decide(developer, t0 + 24 * HOUR);
    expect(first.state.deferred).toMatchObject({ variant: 'b', from: t0 });
    // All the weight on a now: a fresh draw would give a, with no delay.
    const reweighed = parsed(withExperiment(SUBJECT_TEST.map((l) => l.replace('after: 48h, weight: 50', 'after: 48h, weight: 0.001'))));
    const second = decideNudges({ developerId: developer, evidence, stages: SHIPPED_STAGES, state: first.state, rules: reweighed, now: t0 + 48 * HOUR });
    expect(second.effects).toEqual([
      expect.objectContaining({ type: 'sendNudge', template: 'first-call-guided', decision: expect.objectContaining({ experiment: { id: 'subject-test', variant: 'b' } }) }),
    ]);
  });

  it('keeps the holdout out of every variant: skipped, recorded as the control (variant null), no template', () => {
    const { effects } = decide(heldOut, t0 + 24 * HOUR);
    expect(effects).toEqual([expect.objectContaining({ outcome: 'skipped', reason: 'holdout', experiment: { id: 'subject-test', variant: null } })]);
    expect(effects[0]).not.toHaveProperty('template');
  });

  it('records no arm on a rule without an experiment (its decisions are as they were)', () => {
    const plain = parsed(withExperiment(SUBJECT_TEST).replace(/ {4}action:\n(?: {6,}.*\n?)+/, '    action: { send: first-call-help }\n'));
    const { effects } = decideNudges({ developerId: inVariant('b'), evidence, stages: SHIPPED_STAGES, state: initialNudgeState(), rules: plain, now: t0 + 24 * HOUR });
    expect(effects).toHaveLength(1);
    expect(effects[0]!.type).toBe('sendNudge');
    expect(JSON.stringify(effects)).not.toContain('experiment');
  });
});

describe('promoting a variant (the rules source edited in place)', () => {
  it("refuses a delayed variant of a signal rule, and moves an absence rule's wait to `absentAfter`", () => {
    const signal = [
      'rules:',
      '  - id: auth',
      '    when: { signal: unauthorized_burst }',
      '    action: { experiment: { id: e, goal: first_api_call, window: 3d, send: authentication-help, variants: [{ id: now }, { id: later, after: 2h }] } }',
    ].join('\n');
    expect(promoteVariant(signal, 'e', 'later')).toEqual({
      ok: false,
      message: 'variant "later" waits 2h after the burst, and a signal rule acts at once: promote it by hand',
    });
    expect(promoteVariant(signal, 'e', 'now')).toMatchObject({ ok: true, ruleId: 'auth', template: 'authentication-help' });
    const absence = [
      'rules:',
      '  - id: no-key',
      '    when: { event: api_key.created, absentAfter: 2d }  # keep me',
      '    action:',
      '      experiment:',
      '        { id: e, goal: first_api_call, window: 3d, send: first-call-help, variants: [{ id: x }, { id: y, after: 4d }] }',
    ].join('\n');
    const promoted = promoteVariant(absence, 'e', 'y');
    expect(promoted).toMatchObject({ ok: true });
    expect(promoted.ok && promoted.source).toBe(
      ['rules:', '  - id: no-key', '    when: { event: api_key.created, absentAfter: 4d }  # keep me', '    action: { send: first-call-help }'].join('\n'),
    );
  });
});
