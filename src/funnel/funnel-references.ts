import type { ConfigFileError, DocumentIssue } from '../rules/config-file.ts';
import { escalationPolicyFormat } from '../rules/escalation-policy-file.ts';
import type { EscalationPolicyDocument } from '../rules/escalation-policy-schema.ts';
import { rulesFormat } from '../rules/rules-file.ts';
import type { RulesDocument } from '../rules/rules-schema.ts';
import { funnelFormat } from './funnel-file.ts';
import type { FunnelDocument } from './funnel-schema.ts';
import { stageIds } from './funnel-in-force.ts';

/**
 * The stages the rules and the escalation policy name, checked against a funnel: each must be one
 * of its stages, and a stall's `until` must come after its `since` in it. The documents' schemas
 * take any stage id; these checks run wherever one of the three changes (the funnel, or the rules
 * or policy under it), so the documents in force never name a stage the funnel lacks.
 */

/** A problem in the rules or the policy: the field, the rule or stall it is in, and what is wrong. */
export interface StageReferenceIssue extends DocumentIssue {
  rule?: string;
  stall?: string;
}

function stageChecker(funnel: FunnelDocument) {
  const ids = stageIds(funnel);
  return {
    rank: (stage: string) => ids.indexOf(stage),
    missing: (stage: string) => (ids.includes(stage) ? undefined : `no stage "${stage}" in the funnel (its stages: ${ids.join(', ')})`),
  };
}

/** Each rule's `when.stage` (or an absent event's `when.since`, or an experiment's `goal`) that the funnel lacks. */
export function rulesStageIssues(funnel: FunnelDocument, rules: RulesDocument): StageReferenceIssue[] {
  const { missing, rank } = stageChecker(funnel);
  return rules.rules.flatMap((rule, i) => {
    const { when } = rule;
    const [field, stage] = 'stage' in when ? ['stage', when.stage] : 'since' in when && when.since !== undefined ? ['since', when.since] : [];
    const message = stage === undefined ? undefined : missing(stage);
    const goal = 'experiment' in rule.action ? experimentGoalIssue(rule.action.experiment.goal, 'stage' in when ? when.stage : undefined) : undefined;
    // The risk is of not reaching the next stage: the last stage has none.
    const finalRisk = !message && 'stage' in when && when.risk !== undefined && rank(when.stage) === stageIds(funnel).length - 1;
    return [
      ...(message ? [{ path: ['rules', i, 'when', field!], rule: rule.id, message }] : []),
      ...(finalRisk
        ? [{ path: ['rules', i, 'when', 'risk'], rule: rule.id, message: `"${when.stage}" is the funnel's last stage: there is no next stage to be at risk of not reaching` }]
        : []),
      ...(goal ? [{ path: ['rules', i, 'action', 'experiment', 'goal'], rule: rule.id, message: goal }] : []),
    ];
  });

  /** A goal the funnel lacks, or (for a stall rule) one not after the stage the developer is stalled in. */
  function experimentGoalIssue(goal: string, stalledIn: string | undefined): string | undefined {
    const absent = missing(goal);
    if (absent || stalledIn === undefined || rank(stalledIn) < 0 || rank(goal) > rank(stalledIn)) return absent;
    return `the goal must be a later stage than the rule's \`when.stage\` in the funnel ("${goal}" is not after "${stalledIn}")`;
  }
}

/** Each stall's `since` or `until` that the funnel lacks, and each whose `until` is not after its `since` in it. */
export function policyStageIssues(funnel: FunnelDocument, policy: EscalationPolicyDocument): StageReferenceIssue[] {
  const { missing, rank } = stageChecker(funnel);
  return policy.criteria.stalls.flatMap((stall, i) => {
    const at = (field: 'since' | 'until') => ['criteria', 'stalls', i, field];
    const issues: StageReferenceIssue[] = [];
    for (const field of ['since', 'until'] as const) {
      const message = missing(stall[field]);
      if (message) issues.push({ path: at(field), stall: stall.id, message });
    }
    if (issues.length === 0 && rank(stall.until) <= rank(stall.since)) {
      issues.push({ path: at('until'), stall: stall.id, message: `\`until\` must be a later stage than \`since\` in the funnel ("${stall.until}" is not after "${stall.since}")` });
    }
    return issues;
  });
}

/** Which document an error is in, by its format's label. */
export type ConfigDocumentName = 'funnel' | 'rules' | 'escalation policy';

/**
 * An error of a change that touches several documents: the document it is in and, when that is not
 * in the request but the stored version in force, its version (line and column are in that
 * version's source).
 */
export type ConfigDocumentError = ConfigFileError & { document: ConfigDocumentName; version?: number; stage?: string; rule?: string; stall?: string };

/** A rules or policy document to check: its source (for lines), and its version when it is the one in force. */
export interface CheckedDocument<D> {
  source: string;
  document: D;
  version?: number;
}

/** The errors of the rules and the policy given against `funnel`, each located in its own source. */
export function stageReferenceErrors(
  funnel: FunnelDocument,
  { rules, policy }: { rules?: CheckedDocument<RulesDocument> | undefined; policy?: CheckedDocument<EscalationPolicyDocument> | undefined },
): ConfigDocumentError[] {
  const inDocument = (document: ConfigDocumentName, checked: CheckedDocument<unknown>) => (error: ConfigFileError) => ({
    ...error,
    document,
    ...(checked.version === undefined ? {} : { version: checked.version }),
  });
  return [
    ...(rules ? rulesFormat.locate(rules.source, rulesStageIssues(funnel, rules.document)).map(inDocument('rules', rules)) : []),
    ...(policy ? escalationPolicyFormat.locate(policy.source, policyStageIssues(funnel, policy.document)).map(inDocument('escalation policy', policy)) : []),
  ];
}

const FORMATS = { funnel: funnelFormat, rules: rulesFormat, 'escalation policy': escalationPolicyFormat } as const;

/** One line: `rules v3 (in force): rules[2] (explore-the-api) when.stage: no stage "x" in the funnel (…) (line 38, column 11)`. */
export function formatConfigDocumentError(error: ConfigDocumentError): string {
  const { document, version } = error;
  const where = version === undefined ? document : `${document} v${version} (in force)`;
  return `${where}: ${(FORMATS[document].formatError as (e: ConfigFileError) => string)(error)}`;
}
