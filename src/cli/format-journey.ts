import type { JourneyReadModel } from '../api/journey-schema.ts';

const MARK = { reached: '●', skipped: '○', pending: '·' } as const;

/** A journey as a readable timeline for the terminal: its stages by their labels, in the order of the funnel version it follows. */
export function formatJourney(journey: JourneyReadModel): string {
  const p = journey.profile;
  // The response labels every stage of the journey's funnel version; transitions and the current stage are among them.
  const labels = new Map(journey.stages.map((s) => [s.stage, s.label]));
  const label = (stage: string) => labels.get(stage) ?? stage;
  const width = Math.max(0, ...journey.stages.map((s) => s.label.length)) + 2;
  const lines = [
    `Developer ${journey.developerId}   stage: ${journey.stage === null ? '(none yet)' : label(journey.stage)}   journey: ${journey.running ? 'running' : 'not running'}   funnel v${journey.funnelVersion}`,
    `  ${[p.accountType, p.orgId && `org ${p.orgId}`, p.acquisitionChannel, p.timezone, p.signedUpAt && `signed up ${p.signedUpAt}`].filter(Boolean).join(' · ') || 'no signup yet'}`,
    '',
    'Stages',
    ...journey.stages.map((s) => {
      const detail = s.status === 'reached' ? `${s.at}  (${s.causeEventId}${s.late ? ', arrived late' : ''})` : s.status;
      return `  ${MARK[s.status]} ${s.label.padEnd(width)} ${detail}`;
    }),
    '',
    'Transitions',
    ...(journey.transitions.length === 0
      ? ['  (none)']
      : journey.transitions.map(
          (t) => `  ${t.occurredAt}  ${(t.from === null ? '∅' : label(t.from)).padEnd(width)} → ${label(t.to)}   [${t.causeEventId}, machine v${t.machineVersion}]`,
        )),
    '',
    `API requests: ${journey.requests.total} (${journey.requests.ok} 2xx, ${journey.requests.status401} × 401, ${journey.requests.status400} × 400, ${journey.requests.status429} × 429), ` +
      `${journey.requests.distinctEndpoints} endpoints, SDK ${journey.requests.sdk} / raw ${journey.requests.raw}`,
  ];
  // Every decision, the nudges not sent too: why a developer got no email is the question asked most.
  if (journey.messages.length > 0) lines.push('', 'Nudges', ...journey.messages.map((m) => `  ${m.decidedAt}  ${nudgeLine(m)}   [${m.ruleId} v${m.ruleVersion}]`));
  for (const c of journey.handoffs) {
    lines.push('', `Handoff ${c.id}: ${c.status}${c.owner ? ` (owner ${c.owner})` : ''}${c.outcome ? `, outcome ${c.outcome}` : ''} — ${c.reason}`);
    lines.push(...c.log.map((s) => `  ${s.at}  ${s.step}${s.actor ? ` by ${s.actor}` : ''}${typeof s.detail.text === 'string' ? `: ${s.detail.text}` : ''}`));
  }
  if (journey.pendingSignals > 0) lines.push(`${journey.pendingSignals} event(s) still on their way to the journey`);
  return `${lines.join('\n')}\n`;
}

function nudgeLine(m: JourneyReadModel['messages'][number]): string {
  switch (m.outcome) {
    case 'sent':
      return `sent ${m.template}`;
    case 'escalated':
      return `escalated: ${m.reason}`;
    case 'scheduled':
      return `deferred (${m.reason ?? 'no reason recorded'})${m.scheduledFor ? ` until ${m.scheduledFor}` : ''}${m.template ? `: ${m.template}` : ''}`;
    default:
      return `${m.outcome} (${m.reason ?? 'no reason recorded'})${m.template ? `: ${m.template}` : ''}`;
  }
}
