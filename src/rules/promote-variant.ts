import { isMap, isScalar, isSeq, parseDocument, type Node, type YAMLMap } from 'yaml';
import { parseRulesSource } from './rules-file.ts';

/**
 * A winner promoted: the rules source with the rule that runs `experimentId` sending `variantId`
 * only (its template; its delay, when it has one, becomes the rule's wait), the rest of the file
 * (comments, order, other rules) untouched. Applied as a normal rules version, audited; the
 * experiment's metrics stay readable from the versions that defined it.
 */
export type PromoteResult = { ok: true; source: string; ruleId: string; template: string } | { ok: false; message: string };

export function promoteVariant(source: string, experimentId: string, variantId: string): PromoteResult {
  const parsed = parseRulesSource(source);
  if (!parsed.ok) return { ok: false, message: `the rules in force do not parse: ${parsed.errors[0]?.message ?? ''}` };
  const index = parsed.document.rules.findIndex((r) => 'experiment' in r.action && r.action.experiment.id === experimentId);
  const rule = parsed.document.rules[index];
  if (!rule || !('experiment' in rule.action)) {
    const running = parsed.document.rules.flatMap((r) => ('experiment' in r.action ? [r.action.experiment.id] : []));
    return { ok: false, message: `no experiment "${experimentId}" in the rules in force (experiments: ${running.join(', ') || 'none'})` };
  }
  const { experiment } = rule.action;
  const variant = experiment.variants.find((v) => v.id === variantId);
  if (!variant) return { ok: false, message: `experiment "${experimentId}" has no variant "${variantId}" (variants: ${experiment.variants.map((v) => v.id).join(', ')})` };
  const template = (variant.send ?? experiment.send)!;
  const waitKey = 'stage' in rule.when ? 'after' : 'event' in rule.when ? 'absentAfter' : undefined;
  if (variant.after !== undefined && waitKey === undefined) {
    return { ok: false, message: `variant "${variantId}" waits ${variant.after} after the burst, and a signal rule acts at once: promote it by hand` };
  }

  // Edits spliced into the source by the parsed nodes' ranges: every other byte (comments,
  // alignment, flow style) stays, so the version's diff shows only the promotion.
  const document = parseDocument(source);
  const rules = document.get('rules');
  const ruleNode = isSeq(rules) ? rules.items[index] : undefined;
  if (!isMap(ruleNode)) return { ok: false, message: `rule ${rule.id} is not a map` };
  const edits: { from: number; to: number; text: string }[] = [];
  const action = pairOf(source, ruleNode, 'action');
  edits.push({ from: action.key, to: action.end, text: `: { send: ${template} }` });
  if (variant.after !== undefined) {
    const when = ruleNode.get('when');
    if (!isMap(when)) return { ok: false, message: `rule ${rule.id}'s when is not a map` };
    const wait = pairOf(source, when, waitKey!);
    edits.push({ from: wait.key, to: wait.end, text: `: ${variant.after}` });
  }
  let promoted = source;
  for (const edit of edits.sort((a, b) => b.from - a.from)) promoted = promoted.slice(0, edit.from) + edit.text + promoted.slice(edit.to);
  const check = parseRulesSource(promoted);
  if (!check.ok) return { ok: false, message: `the promoted rules do not parse: ${check.errors[0]?.message ?? ''}` };
  return { ok: true, source: promoted, ruleId: rule.id, template };
}

/** Where a key of a map ends and its value ends (a block value's trailing line breaks left out), in `source`. */
function pairOf(source: string, map: YAMLMap, key: string): { key: number; end: number } {
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key)!;
  let end = (pair.value as Node).range![1];
  while (end > 0 && /\s/.test(source[end - 1]!)) end--;
  return { key: (pair.key as Node).range![1], end };
}
