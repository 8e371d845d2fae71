import type pg from 'pg';
import { describeChange, type ComparedFigure, type FailIfMetric } from './fail-if.ts';
import { table, type PreviewOutcome, type RulePreviewLine } from './preview-report.ts';

/**
 * The candidate rules against the rules in force, each run on the same cohort in its own sandbox:
 * the figures side by side (in all, per rule, per template, per escalation criterion) and the
 * developers whose treatment differs. A developer's treatment is every nudge decision and case
 * the sandbox recorded for them, without times; the decision's columns are read generically, so a
 * field added to nudge_decisions (a variant, say) counts as treatment without a change here.
 */

/** Per developer, what the rules did to them: sorted lines such as `first-call-help#1 sent → first-call-help`. */
export type Treatments = Map<string, string[]>;

/** The columns of nudge_decisions that say when or how a decision was recorded, not what it was. */
const NOT_TREATMENT = [
  'id',
  'developer_id',
  'decision_key',
  'nudge_key',
  'rule_id',
  'rule_version',
  'outcome',
  'reason',
  'template',
  'segment',
  'inputs',
  'decided_at',
  'scheduled_for',
  'recorded_at',
];

export async function readTreatments(pool: pg.Pool): Promise<Treatments> {
  const treatments: Treatments = new Map();
  const add = (developer: string, line: string) => {
    const lines = treatments.get(developer) ?? [];
    lines.push(line);
    treatments.set(developer, lines);
  };
  const decisions = await pool.query<{ developer_id: string; nudge_key: string; outcome: string; reason: string | null; template: string | null; extra: Record<string, unknown> }>(
    `SELECT developer_id, nudge_key, outcome, reason, template, to_jsonb(d) - $1::text[] AS extra FROM nudge_decisions d`,
    [NOT_TREATMENT],
  );
  for (const d of decisions.rows) {
    const extra = Object.entries(d.extra)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    add(d.developer_id, `${d.nudge_key} ${d.outcome}${d.reason ? ` (${d.reason})` : ''}${d.template ? ` → ${d.template}` : ''}${extra.length ? ` [${extra.join(', ')}]` : ''}`);
  }
  const cases = await pool.query<{ developer_id: string; criterion: string }>('SELECT developer_id, criterion FROM handoffs');
  for (const c of cases.rows) add(c.developer_id, `escalated: ${c.criterion}`);
  for (const lines of treatments.values()) lines.sort();
  return treatments;
}

export interface ChangedDeveloper {
  developerId: string;
  /** Treatment lines under the rules in force only, and under the candidate only. */
  inForceOnly: string[];
  candidateOnly: string[];
}

interface RuleFigures {
  sends: ComparedFigure;
  escalated: ComparedFigure;
  frequencyCap: ComparedFigure;
  quietHours: ComparedFigure;
  holdout: ComparedFigure;
}

export interface PreviewComparison {
  /** Where the rules in force came from: `the running rules v7`, a file. */
  against: string;
  totals: Record<FailIfMetric, ComparedFigure>;
  rules: ({ rule: string } & RuleFigures)[];
  templates: { template: string; sends: ComparedFigure }[];
  escalations: { criterion: string; cases: ComparedFigure }[];
  changedDevelopers: ChangedDeveloper[];
}

const figure = (baseline: number, candidate: number): ComparedFigure => ({ baseline, candidate });
const ruleFigures = (l: RulePreviewLine | undefined) => ({
  sends: l?.sent ?? 0,
  escalated: l?.escalated ?? 0,
  frequencyCap: l?.skipped.frequency_cap ?? 0,
  quietHours: l?.deferred ?? 0,
  holdout: l?.skipped.holdout ?? 0,
});
const sum = (record: Record<string, number>) => Object.values(record).reduce((a, b) => a + b, 0);
const templateSends = (outcome: PreviewOutcome) => {
  const sends: Record<string, number> = {};
  for (const l of outcome.rules) for (const [t, n] of Object.entries(l.templates)) sends[t] = (sends[t] ?? 0) + n;
  return sends;
};
const union = (...keys: string[][]) => [...new Set(keys.flat())];

export function comparePreviews(
  against: string,
  inForce: { outcome: PreviewOutcome; treatments: Treatments },
  candidate: { outcome: PreviewOutcome; treatments: Treatments },
): PreviewComparison {
  const [b, c] = [inForce.outcome, candidate.outcome];
  const rules = union(
    c.rules.map((l) => l.rule),
    b.rules.map((l) => l.rule),
  ).map((rule) => {
    const [before, after] = [ruleFigures(b.rules.find((l) => l.rule === rule)), ruleFigures(c.rules.find((l) => l.rule === rule))];
    return {
      rule,
      ...(Object.fromEntries(Object.keys(before).map((k) => [k, figure(before[k as keyof typeof before], after[k as keyof typeof after])])) as unknown as RuleFigures),
    };
  });
  const [bt, ct] = [templateSends(b), templateSends(c)];
  const templates = union(Object.keys(ct), Object.keys(bt))
    .sort()
    .map((template) => ({ template, sends: figure(bt[template] ?? 0, ct[template] ?? 0) }));
  const escalations = union(Object.keys(c.escalations), Object.keys(b.escalations))
    .sort()
    .map((criterion) => ({ criterion, cases: figure(b.escalations[criterion] ?? 0, c.escalations[criterion] ?? 0) }));
  const changedDevelopers = changed(inForce.treatments, candidate.treatments);
  return {
    against,
    totals: {
      sends: figure(b.emails, c.emails),
      escalations: figure(sum(b.escalations), sum(c.escalations)),
      'escalated-developers': figure(b.developersEscalated, c.developersEscalated),
      'frequency-cap': figure(b.effects.frequencyCap, c.effects.frequencyCap),
      'quiet-hours': figure(b.effects.quietHours.deferred, c.effects.quietHours.deferred),
      holdout: figure(b.effects.holdout, c.effects.holdout),
      // Under the rules in force nobody's treatment differs from theirs.
      'changed-developers': figure(0, changedDevelopers.length),
    },
    rules,
    templates,
    escalations,
    changedDevelopers,
  };
}

/** The developers whose treatment lines differ, by id; each with the lines only one side has. */
function changed(inForce: Treatments, candidate: Treatments): ChangedDeveloper[] {
  const developers = union([...inForce.keys()], [...candidate.keys()]).sort();
  return developers.flatMap((developerId) => {
    const before = inForce.get(developerId) ?? [];
    const after = candidate.get(developerId) ?? [];
    const inForceOnly = withoutOnce(before, after);
    const candidateOnly = withoutOnce(after, before);
    return inForceOnly.length === 0 && candidateOnly.length === 0 ? [] : [{ developerId, inForceOnly, candidateOnly }];
  });
}

/** `lines` minus `other`, as multisets (a nudge sent twice and once differ). */
function withoutOnce(lines: string[], other: string[]): string[] {
  const left = [...other];
  return lines.filter((line) => {
    const i = left.indexOf(line);
    if (i === -1) return true;
    left.splice(i, 1);
    return false;
  });
}

/** How many changed developers the text report lists (the JSON has them all). */
export const LISTED_DEVELOPERS = 20;

const cell = ({ baseline, candidate }: ComparedFigure) => (baseline === candidate ? String(baseline) : `${baseline} → ${candidate}`);

/** The comparison as a person reads it: totals, then per rule, per template, per criterion, then the developers. */
export function formatComparison(comparison: PreviewComparison): string {
  const out = [`compared with the rules in force (${comparison.against}) on the same cohort; "in force → candidate" where they differ`, ''];
  out.push(
    table([
      ['figure', 'in force', 'candidate', 'change'],
      ...Object.entries(comparison.totals).map(([metric, f]) => [metric, String(f.baseline), String(f.candidate), describeChange(f).replace(/^.*?\(|\)$/g, '')]),
    ]),
  );
  out.push('', 'per rule');
  out.push(
    table([
      ['  rule', 'sends', 'escalated', 'frequency cap', 'quiet hours', 'holdout'],
      ...comparison.rules.map((r) => [`  ${r.rule}`, cell(r.sends), cell(r.escalated), cell(r.frequencyCap), cell(r.quietHours), cell(r.holdout)]),
    ]),
  );
  out.push('', 'sends per template');
  out.push(comparison.templates.length > 0 ? table(comparison.templates.map((t) => [`  ${t.template}`, cell(t.sends)])) : '  none');
  out.push('', 'escalations per criterion');
  out.push(comparison.escalations.length > 0 ? table(comparison.escalations.map((e) => [`  ${e.criterion}`, cell(e.cases)])) : '  none');
  const changedDevelopers = comparison.changedDevelopers;
  out.push(
    '',
    `developers whose treatment changes: ${changedDevelopers.length}${changedDevelopers.length > LISTED_DEVELOPERS ? ` (the first ${LISTED_DEVELOPERS}; --json lists all)` : ''}`,
  );
  for (const d of changedDevelopers.slice(0, LISTED_DEVELOPERS)) {
    out.push(`  ${d.developerId}`);
    for (const line of d.inForceOnly) out.push(`    - ${line}`);
    for (const line of d.candidateOnly) out.push(`    + ${line}`);
  }
  return out.join('\n');
}
