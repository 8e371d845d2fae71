import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { funnelFormat } from '../../../src/funnel/funnel-file.ts';
import { formatConfigDocumentError, policyStageIssues, rulesStageIssues, stageReferenceErrors } from '../../../src/funnel/funnel-references.ts';
import type { FunnelDocument } from '../../../src/funnel/funnel-schema.ts';
import { escalationPolicyFormat } from '../../../src/rules/escalation-policy-file.ts';
import { rulesFormat } from '../../../src/rules/rules-file.ts';
import { CUSTOM_FUNNEL, CUSTOM_POLICY, CUSTOM_RULES } from '../../support/custom-funnel-documents.ts';
import { shippedFunnel } from '../../support/shipped-funnel.ts';

function parsed<D>(format: { parse(source: string): { ok: true; document: D } | { ok: false } }, source: string): { source: string; document: D } {
  const result = format.parse(source);
  if (!result.ok) throw new Error(`invalid fixture:\n${source}`);
  return { source, document: result.document };
}

const shipped = (file: string) => readFileSync(new URL(`../../../config/${file}`, import.meta.url), 'utf8');
const custom: FunnelDocument = parsed(funnelFormat, CUSTOM_FUNNEL).document;

describe('the stages the rules and the escalation policy name, against a funnel', () => {
  it('finds nothing in the shipped rules and policy against the shipped funnel', () => {
    expect(
      stageReferenceErrors(shippedFunnel, {
        rules: parsed(rulesFormat, shipped('rules.yaml')),
        policy: parsed(escalationPolicyFormat, shipped('escalation.yaml')),
      }),
    ).toEqual([]);
  });

  it('finds nothing in rules and a policy written for a custom funnel', () => {
    expect(stageReferenceErrors(custom, { rules: parsed(rulesFormat, CUSTOM_RULES), policy: parsed(escalationPolicyFormat, CUSTOM_POLICY) })).toEqual([]);
  });

  it('names each rule whose stage the funnel lacks, the field and the stage; rules on a signal name none', () => {
    const rules = parsed(rulesFormat, shipped('rules.yaml')).document;
    const issues = rulesStageIssues(custom, rules);
    const orphaned = rules.rules.filter((r) => 'stage' in r.when && !['account_created', 'first_api_call'].includes(r.when.stage));
    expect(orphaned.length).toBeGreaterThan(0);
    expect(issues.map((i) => i.rule)).toEqual(orphaned.map((r) => r.id));
    const first = orphaned[0]!;
    expect(issues[0]).toEqual({
      path: ['rules', rules.rules.indexOf(first), 'when', 'stage'],
      rule: first.id,
      message: `no stage "${'stage' in first.when ? first.when.stage : ''}" in the funnel (its stages: account_created, first_api_call, paying)`,
    });
  });

  it("refuses a risk rule on the funnel's last stage: no next stage to be at risk of not reaching", () => {
    const rules = parsed(
      rulesFormat,
      `rules:
  - { id: early, when: { stage: first_api_call, risk: { above: 0.8 } }, action: { send: first-call-help } }
  - { id: last, when: { stage: paying, risk: { above: 0.8 } }, action: { send: first-call-help } }
`,
    ).document;
    expect(rulesStageIssues(custom, rules)).toEqual([
      { path: ['rules', 1, 'when', 'risk'], rule: 'last', message: '"paying" is the funnel\'s last stage: there is no next stage to be at risk of not reaching' },
    ]);
  });

  it('names each stall whose since or until the funnel lacks, and one whose until is not after its since there', () => {
    const policy = parsed(
      escalationPolicyFormat,
      `criteria:
  stalls:
    - { id: ok, since: account_created, until: paying, after: 7d }
    - { id: gone, since: credential_provisioned, until: nowhere, after: 7d }
    - { id: backwards, since: paying, until: first_api_call, after: 7d }
    - { id: same, since: paying, until: paying, after: 7d }
`,
    ).document;
    expect(policyStageIssues(custom, policy)).toEqual([
      { path: ['criteria', 'stalls', 1, 'since'], stall: 'gone', message: expect.stringContaining('no stage "credential_provisioned" in the funnel') },
      { path: ['criteria', 'stalls', 1, 'until'], stall: 'gone', message: expect.stringContaining('no stage "nowhere" in the funnel') },
      {
        path: ['criteria', 'stalls', 2, 'until'],
        stall: 'backwards',
        message: '`until` must be a later stage than `since` in the funnel ("first_api_call" is not after "paying")',
      },
      { path: ['criteria', 'stalls', 3, 'until'], stall: 'same', message: '`until` must be a later stage than `since` in the funnel ("paying" is not after "paying")' },
    ]);
  });

  it('the order is the funnel’s: a stall valid in the shipped funnel is refused by one that reorders its stages', () => {
    const reordered = parsed(funnelFormat, CUSTOM_FUNNEL.replace(/(  - id: first_api_call[\s\S]*?)(  - id: paying[\s\S]*)$/, '$2$1')).document;
    expect(reordered.stages.map((s) => s.id)).toEqual(['account_created', 'paying', 'first_api_call']);
    const issues = policyStageIssues(reordered, parsed(escalationPolicyFormat, CUSTOM_POLICY).document);
    expect(issues.map((i) => i.stall)).toEqual(['not-paying']);
  });

  it('locates each error in its own source, says which document it is in, and the version when it is the one in force', () => {
    const errors = stageReferenceErrors(custom, {
      rules: { ...parsed(rulesFormat, CUSTOM_RULES.replace('stage: first_api_call', 'stage: first_call')), version: 4 },
      policy: parsed(escalationPolicyFormat, CUSTOM_POLICY.replace('until: paying', 'until: paid')),
    });
    expect(errors).toEqual([
      { document: 'rules', version: 4, path: 'rules[1].when.stage', rule: 'pay-up', message: expect.stringContaining('no stage "first_call"'), line: 6, column: 20 },
      { document: 'escalation policy', path: 'criteria.stalls[1].until', stall: 'not-paying', message: expect.stringContaining('no stage "paid"'), line: 4, column: 55 },
    ]);
    expect(formatConfigDocumentError(errors[0]!)).toBe(
      'rules v4 (in force): rules[1] (pay-up) when.stage: no stage "first_call" in the funnel (its stages: account_created, first_api_call, paying) (line 6, column 20)',
    );
    expect(formatConfigDocumentError(errors[1]!)).toMatch(/^escalation policy: criteria\.stalls\[1\] \(not-paying\) until: no stage "paid"/);
  });
});
