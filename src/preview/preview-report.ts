import type pg from 'pg';
import { stageIds, stageLabel } from '../funnel/funnel-in-force.ts';
import type { FunnelDocument } from '../funnel/funnel-schema.ts';

/**
 * What the candidate rules did in the sandbox, read back from its tables: the emails its outbox
 * holds (what would have been sent), the nudge decisions (why the others were not), and the
 * handoff cases opened (what would have been escalated to a person).
 */

export interface RulePreviewLine {
  rule: string;
  /** Emails that would have been sent, in all and per template. */
  sent: number;
  templates: Record<string, number>;
  /** Nudges that handed the developer to a person (escalate rules). */
  escalated: number;
  /** Nudges held back by quiet hours (then sent, cancelled or still waiting: see quietHours). */
  deferred: number;
  /** Not sent, by reason: frequency_cap, holdout, consent, segment, … */
  skipped: Record<string, number>;
  /** Cancelled before they went out, by reason: stage_left (the developer moved on), … */
  cancelled: Record<string, number>;
}

export interface PreviewOutcome {
  developers: number;
  /** Developers per current stage in the sandbox (its funnel's stage ids, in its order; `none`: no stage yet). */
  stages: Record<string, number>;
  rules: RulePreviewLine[];
  emails: number;
  /** Cases opened, per criterion (stall:…, rule:…, error_burst_continued, …). */
  escalations: Record<string, number>;
  developersEscalated: number;
  effects: {
    frequencyCap: number;
    holdout: number;
    quietHours: { deferred: number; thenSent: number; thenCancelled: number; stillWaiting: number };
  };
}

const count = (rows: { n: string }[]) => Number(rows[0]?.n ?? 0);
const tally = <K extends string>(rows: ({ n: string } & Record<K, string | null>)[], key: K) =>
  Object.fromEntries(rows.map((r) => [r[key] ?? 'none', Number(r.n)])) as Record<string, number>;

export async function readPreviewOutcome(pool: pg.Pool, ruleIds: string[], funnel: FunnelDocument): Promise<PreviewOutcome> {
  const q = async <R extends pg.QueryResultRow>(text: string) => (await pool.query<R>(text)).rows;
  const developers = count(await q<{ n: string }>('SELECT count(*) AS n FROM developers'));
  const stageRows = await q<{ stage: string | null; n: string }>('SELECT stage, count(*) AS n FROM developers GROUP BY stage');
  const emailRows = await q<{ rule_id: string; template: string; n: string }>('SELECT rule_id, template, count(*) AS n FROM emails GROUP BY rule_id, template');
  const decisionRows = await q<{ rule_id: string; outcome: string; reason: string | null; n: string }>(
    `SELECT rule_id, outcome, reason, count(*) AS n FROM nudge_decisions WHERE outcome IN ('skipped', 'cancelled', 'escalated', 'scheduled') GROUP BY rule_id, outcome, reason`,
  );
  const caseRows = await q<{ criterion: string; n: string }>('SELECT criterion, count(*) AS n FROM handoffs GROUP BY criterion ORDER BY criterion');
  const escalatedDevelopers = count(await q<{ n: string }>('SELECT count(DISTINCT developer_id) AS n FROM handoffs'));
  // Each deferred nudge (a 'scheduled' row) and what became of it under the same nudge key.
  const [quiet] = await q<{ deferred: string; sent: string; cancelled: string }>(
    `SELECT count(*) AS deferred,
            count(*) FILTER (WHERE EXISTS (SELECT 1 FROM emails e WHERE e.id = s.developer_id || '/' || s.nudge_key)) AS sent,
            count(*) FILTER (WHERE EXISTS (SELECT 1 FROM nudge_decisions c WHERE c.developer_id = s.developer_id AND c.nudge_key = s.nudge_key AND c.outcome IN ('cancelled', 'skipped'))) AS cancelled
     FROM (SELECT DISTINCT developer_id, nudge_key FROM nudge_decisions WHERE outcome = 'scheduled') s`,
  );

  const lines = new Map<string, RulePreviewLine>();
  const line = (rule: string) => {
    let l = lines.get(rule);
    if (!l) lines.set(rule, (l = { rule, sent: 0, templates: {}, escalated: 0, deferred: 0, skipped: {}, cancelled: {} }));
    return l;
  };
  for (const id of ruleIds) line(id);
  for (const r of emailRows) {
    const l = line(r.rule_id);
    l.sent += Number(r.n);
    l.templates[r.template] = (l.templates[r.template] ?? 0) + Number(r.n);
  }
  for (const r of decisionRows) {
    const l = line(r.rule_id);
    const n = Number(r.n);
    if (r.outcome === 'escalated') l.escalated += n;
    else if (r.outcome === 'scheduled') l.deferred += n;
    else {
      const into = r.outcome === 'skipped' ? l.skipped : l.cancelled;
      into[r.reason ?? 'unknown'] = (into[r.reason ?? 'unknown'] ?? 0) + n;
    }
  }
  const rules = [...lines.values()];
  const sum = (pick: (l: RulePreviewLine) => number) => rules.reduce((n, l) => n + pick(l), 0);
  const deferred = Number(quiet?.deferred ?? 0);
  const thenSent = Number(quiet?.sent ?? 0);
  const thenCancelled = Number(quiet?.cancelled ?? 0);
  const stages = tally(stageRows, 'stage');
  return {
    developers,
    stages: Object.fromEntries([...stageIds(funnel), 'none'].filter((s) => stages[s]).map((s) => [s, stages[s]!])),
    rules,
    emails: sum((l) => l.sent),
    escalations: tally(caseRows, 'criterion'),
    developersEscalated: escalatedDevelopers,
    effects: {
      frequencyCap: sum((l) => l.skipped.frequency_cap ?? 0),
      holdout: sum((l) => l.skipped.holdout ?? 0),
      quietHours: { deferred, thenSent, thenCancelled, stillWaiting: deferred - thenSent - thenCancelled },
    },
  };
}

/** The report as a person reads it: one row per rule, then templates, cap and quiet-hours effects, escalations, the stages by their labels. */
export function formatPreviewOutcome(
  outcome: PreviewOutcome,
  funnel: FunnelDocument,
  actual?: { emailsByRule: Record<string, number>; casesByCriterion: Record<string, number> },
): string {
  const skippedOther = (l: RulePreviewLine) => Object.entries(l.skipped).filter(([reason]) => reason !== 'frequency_cap' && reason !== 'holdout');
  const rows = outcome.rules.map((l) => [
    l.rule,
    String(l.sent),
    ...(actual ? [String(actual.emailsByRule[l.rule] ?? 0)] : []),
    String(l.deferred),
    String(l.skipped.frequency_cap ?? 0),
    String(l.skipped.holdout ?? 0),
    skippedOther(l)
      .map(([reason, n]) => `${reason} ${n}`)
      .join(', ') || '-',
    Object.entries(l.cancelled)
      .map(([reason, n]) => `${reason} ${n}`)
      .join(', ') || '-',
    String(l.escalated),
  ]);
  const header = ['rule', 'would send', ...(actual ? ['actually sent'] : []), 'quiet-hours deferred', 'frequency cap', 'holdout', 'other skips', 'cancelled', 'escalated'];
  const out = [table([header, ...rows]), ''];
  out.push('emails per template');
  const templates = outcome.rules.flatMap((l) => Object.entries(l.templates).map(([t, n]) => [`  ${l.rule} → ${t}`, String(n)]));
  out.push(templates.length > 0 ? table(templates) : '  none', '');
  const q = outcome.effects.quietHours;
  out.push(
    `frequency cap: ${outcome.effects.frequencyCap} nudge${outcome.effects.frequencyCap === 1 ? '' : 's'} not sent; holdout: ${outcome.effects.holdout} not sent (the control group)`,
    `quiet hours: ${q.deferred} deferred → ${q.thenSent} sent when the quiet hours ended, ${q.thenCancelled} dropped before (the developer moved on or a cap held), ${q.stillWaiting} still waiting at the end`,
    '',
    `escalations: ${sumValues(outcome.escalations)} case${sumValues(outcome.escalations) === 1 ? '' : 's'} for ${outcome.developersEscalated} developer${outcome.developersEscalated === 1 ? '' : 's'}${actual ? ` (actually: ${sumValues(actual.casesByCriterion)})` : ''}`,
  );
  const criteria = [...new Set([...Object.keys(outcome.escalations), ...Object.keys(actual?.casesByCriterion ?? {})])].sort();
  if (criteria.length > 0)
    out.push(table(criteria.map((c) => [`  ${c}`, String(outcome.escalations[c] ?? 0), ...(actual ? [`actually ${actual.casesByCriterion[c] ?? 0}`] : [])])));
  out.push(
    '',
    `stages reached: ${
      Object.entries(outcome.stages)
        .map(([s, n]) => `${s === 'none' ? 'no stage yet' : stageLabel(funnel, s)} ${n}`)
        .join(', ') || 'none'
    }`,
  );
  return out.join('\n');
}

const sumValues = (record: Record<string, number>) => Object.values(record).reduce((a, b) => a + b, 0);

/** Left-aligned first column, right-aligned numbers (and `3 → 5`); the rest left-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const numeric = (text: string) => /^\d+( → \d+)?$/.test(text);
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i > 0 && numeric(cell) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
