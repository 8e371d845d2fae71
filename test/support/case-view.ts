import type { CaseView } from '../../src/cases/case-context.ts';

/**
 * A handoff case as the API and Slack show it: open at level 1 on a stall criterion (no rule),
 * unclaimed, with the shipped policy's outcomes. `overrides` replace whole fields.
 */
export function caseViewFixture(overrides: Partial<CaseView> = {}): CaseView {
  return {
    id: 'dev_1/h1',
    developerId: 'dev_1',
    status: 'open',
    criterion: 'stall:no-first-call',
    reason: 'no first API call 7 days after the key',
    policyVersion: 1,
    level: 1,
    owner: null,
    openedAt: '2026-11-02T12:00:00.000Z',
    claimedAt: null,
    claimDueAt: '2026-11-02T16:00:00.000Z',
    resolveDueAt: '2026-11-04T12:00:00.000Z',
    snoozedUntil: null,
    breaches: [],
    closedAt: null,
    outcome: null,
    outcomes: ['unblocked', 'not-a-fit', 'bug-filed', 'no-response'],
    ...overrides,
  };
}
