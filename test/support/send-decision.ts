/** The journey's decision to send `template` to `developerId` (its rule's `n`th nudge), as the send activity gets it. */
export function sendDecision(developerId: string, template: string, { ruleId = template, n = 1 }: { ruleId?: string; n?: number } = {}) {
  return {
    type: 'recordNudgeDecision' as const,
    developerId,
    decisionKey: `${developerId}:${template}:${n}`,
    nudgeKey: `${template}:${n}`,
    ruleId,
    ruleVersion: 1,
    outcome: 'sent' as const,
    template,
    segment: { engagement: 'new', channel: 'organic_search', accountType: 'individual' },
    inputs: {},
    decidedAt: new Date().toISOString(),
  };
}
