import type { z } from 'zod';
import type { handoffStep, summarizedCase, wholeCase } from '../api/read-handoffs.ts';
import { humanDuration } from '../slack/case-message.ts';

/** Handoff cases for the terminal: a queue as a table, one case whole with its log. */

export type SummarizedCase = z.infer<typeof summarizedCase>;
export type WholeCase = z.infer<typeof wholeCase>;
type Sla = SummarizedCase['summary']['sla'];

const inBusinessHours = (local: string | null | undefined) => (local ? ` (${local}, business hours)` : '');

/** `claim by …`, `resolve by …`, `snoozed until …`, `breached: claim`: what is due next. */
function slaText(sla: Sla): string {
  const parts = [
    ...(sla.snoozedUntil ? [`snoozed until ${sla.snoozedUntil}`] : []),
    ...(sla.claimDueAt ? [`claim by ${sla.claimDueAt}${inBusinessHours(sla.businessHours?.claimDue)}`] : []),
    ...(sla.resolveDueAt ? [`resolve by ${sla.resolveDueAt}${inBusinessHours(sla.businessHours?.resolveDue)}`] : []),
    ...(sla.breaches.length > 0 ? [`BREACHED: ${sla.breaches.join(', ')}`] : []),
  ];
  return parts.join(' · ') || '—';
}

const stuck = (seconds: number | null) => (seconds === null ? '—' : humanDuration(seconds));
/** A stagnation risk as a whole percentage (— when unavailable). */
const riskText = (risk: number | null) => (risk === null ? '—' : `${Math.round(risk * 100)}%`);

/** One case per line, then its diagnosis's first line and SLA indented below it. */
export function formatHandoffList(cases: SummarizedCase[]): string {
  if (cases.length === 0) return 'no cases\n';
  const id = Math.max(4, ...cases.map((c) => c.id.length));
  const stage = Math.max(5, ...cases.map((c) => (c.summary.stage ?? '—').length));
  const header = `${'CASE'.padEnd(id)}  STATUS    LVL  ${'OWNER'.padEnd(20)}  ${'STAGE'.padEnd(stage)}  RISK  STUCK FOR\n`;
  return (
    header +
    cases
      .map((c) => {
        const line = `${c.id.padEnd(id)}  ${c.status.padEnd(8)}  ${String(c.level).padStart(3)}  ${(c.owner ?? '—').slice(0, 20).padEnd(20)}  ${(c.summary.stage ?? '—').padEnd(stage)}  ${riskText(c.summary.risk).padStart(4)}  ${stuck(c.summary.stuckForSeconds)}`;
        const detail = [`    ${c.criterion}: ${c.reason}`, `    SLA: ${slaText(c.summary.sla)}`, ...(c.summary.diagnosis ? [`    diagnosis: ${c.summary.diagnosis}`] : [])];
        return [line, ...detail].join('\n');
      })
      .join('\n') +
    '\n'
  );
}

function stepLine(step: z.infer<typeof handoffStep>): string {
  const detail = Object.entries(step.detail)
    .filter(([, value]) => value !== null && value !== undefined && value !== '')
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
  return `  ${step.at}  ${step.step.padEnd(13)} ${step.actor ?? 'Onramp'}${detail ? `  (${detail})` : ''}`;
}

/** A case whole, in the order the Slack post shows it, then its log. */
export function formatHandoff(c: WholeCase): string {
  const ctx = c.context;
  const dev = ctx.developer;
  const section = (title: string, lines: string[]) => ['', title, ...(lines.length > 0 ? lines : ['  (none)'])];
  const lines = [
    `Case ${c.id}   ${c.status}${c.owner ? ` · owner ${c.owner}` : ''} · level ${c.level}${c.outcome ? ` · outcome ${c.outcome}` : ''}${c.friction ? ` · friction ${c.friction}` : ''}`,
    `Developer ${dev.id}   ${[dev.email, dev.accountType, dev.orgId && `org ${dev.orgId}`, dev.channel, dev.timezone].filter(Boolean).join(' · ')}`,
    ctx.stage
      ? `Stuck in ${ctx.stage.label}${ctx.stuckForSeconds !== null ? ` for ${humanDuration(ctx.stuckForSeconds)}` : ''}${ctx.stageReachedAt ? ` (reached ${ctx.stageReachedAt})` : ''}`
      : 'No stage reached yet',
    '',
    `Why it escalated: ${ctx.escalation.reason}`,
    `  criterion ${ctx.escalation.criterion}${ctx.escalation.rule ? ` · rule ${ctx.escalation.rule.id} v${ctx.escalation.rule.version}` : ''} · escalation policy v${ctx.escalation.policyVersion} · opened ${ctx.escalation.openedAt}`,
    `SLA: ${slaText(ctx.sla)}`,
    ...section(
      'Diagnosis',
      ctx.diagnosis.map((d) => `  • ${d}`),
    ),
    ...section(`Nudges (opened ${ctx.engagement.opened}, clicked ${ctx.engagement.clicked}, engagement ${ctx.engagement.segment})`, [
      ...(ctx.emailSuppressed ? [`  ! ${ctx.emailSuppressed}`] : []),
      ...ctx.nudges.map((n) => `  ${n.at}  ${n.ruleId}${n.template ? ` (template ${n.template})` : ''} — ${n.outcome}${n.reason ? ` (${n.reason})` : ''}`),
    ]),
    ...section(
      'Timeline',
      ctx.timeline.map((e) => `  ${e.at}  ${e.what}`),
    ),
    ...section('Log', c.log.map(stepLine)),
    '',
    `Journey: ${ctx.journeyUrl}`,
    ...(c.status === 'resolved' || c.status === 'returned' ? [] : [`Outcomes: ${c.outcomes.join(', ')}`, `Frictions: ${c.frictions.map((f) => f.id).join(', ')}`]),
  ];
  return `${lines.join('\n')}\n`;
}
