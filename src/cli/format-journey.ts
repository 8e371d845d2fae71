import type { JourneyReadModel } from '../api/journey-schema.ts';

const MARK = { reached: '●', skipped: '○', pending: '·' } as const;

/** A journey as a readable timeline for the terminal. */
export function formatJourney(journey: JourneyReadModel): string {
  const p = journey.profile;
  const lines = [
    `Developer ${journey.developerId}   stage: ${journey.stage ?? '(none yet)'}   journey: ${journey.running ? 'running' : 'not running'}`,
    `  ${[p.accountType, p.orgId && `org ${p.orgId}`, p.acquisitionChannel, p.timezone, p.signedUpAt && `signed up ${p.signedUpAt}`].filter(Boolean).join(' · ') || 'no signup yet'}`,
    '',
    'Stages',
    ...journey.stages.map((s) => {
      const detail = s.status === 'reached' ? `${s.at}  (${s.causeEventId}${s.late ? ', arrived late' : ''})` : s.status;
      return `  ${MARK[s.status]} ${s.stage.padEnd(28)} ${detail}`;
    }),
    '',
    'Transitions',
    ...(journey.transitions.length === 0
      ? ['  (none)']
      : journey.transitions.map((t) => `  ${t.occurredAt}  ${(t.from ?? '∅').padEnd(28)} → ${t.to}   [${t.causeEventId}, machine v${t.machineVersion}]`)),
    '',
    `API requests: ${journey.requests.total} (${journey.requests.ok} 2xx, ${journey.requests.status401} × 401, ${journey.requests.status400} × 400, ${journey.requests.status429} × 429), ` +
      `${journey.requests.distinctEndpoints} endpoints, SDK ${journey.requests.sdk} / raw ${journey.requests.raw}`,
  ];
  const sent = journey.messages.filter((m) => m.outcome === 'sent' || m.outcome === 'escalated');
  if (sent.length > 0) {
    lines.push('', 'Nudges', ...sent.map((m) => `  ${m.decidedAt}  ${m.outcome === 'sent' ? `sent ${m.template}` : `escalated: ${m.reason}`}   [${m.ruleId} v${m.ruleVersion}]`));
  }
  for (const c of journey.handoffs) {
    lines.push('', `Handoff ${c.id}: ${c.status}${c.owner ? ` (owner ${c.owner})` : ''}${c.outcome ? `, outcome ${c.outcome}` : ''} — ${c.reason}`);
    lines.push(...c.log.map((s) => `  ${s.at}  ${s.step}${s.actor ? ` by ${s.actor}` : ''}${typeof s.detail.text === 'string' ? `: ${s.detail.text}` : ''}`));
  }
  if (journey.pendingSignals > 0) lines.push(`${journey.pendingSignals} event(s) still on their way to the journey`);
  return `${lines.join('\n')}\n`;
}
