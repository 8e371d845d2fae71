import { describe, expect, it } from 'vitest';
import { escalationOf, slaStateOf, type CaseView } from '../../../src/cases/case-context.ts';

const view: CaseView = {
  id: 'dev_42/h1',
  developerId: 'dev_42',
  status: 'open',
  criterion: 'rule:error-burst-escalation',
  reason: 'errors went on after the nudge',
  rule: { id: 'error-burst-escalation', version: 3 },
  policyVersion: 2,
  level: 1,
  owner: null,
  openedAt: '2026-12-09T10:00:00.000Z',
  claimedAt: null,
  claimDueAt: '2026-12-09T14:00:00.000Z',
  resolveDueAt: '2026-12-11T10:00:00.000Z',
  snoozedUntil: null,
  breaches: [],
  closedAt: null,
  outcome: null,
  outcomes: ['unblocked'],
};

describe('the SLA state and the escalation of a case, as Slack and the API both show them', () => {
  it('shows a due time only while it can still fall due', () => {
    expect(slaStateOf(view)).toEqual({
      level: 1,
      claimDueAt: '2026-12-09T14:00:00.000Z',
      resolveDueAt: '2026-12-11T10:00:00.000Z',
      breaches: [],
      snoozedUntil: null,
      dueAt: '2026-12-09T14:00:00.000Z',
    });
    expect(slaStateOf({ ...view, status: 'claimed', owner: 'ana', claimedAt: '2026-12-09T11:00:00.000Z' })).toMatchObject({ claimDueAt: null, resolveDueAt: view.resolveDueAt });
    expect(slaStateOf({ ...view, status: 'snoozed', snoozedUntil: '2026-12-09T12:00:00.000Z' })).toMatchObject({ claimDueAt: null, snoozedUntil: '2026-12-09T12:00:00.000Z' });
    // A snooze left in the view after the case woke up is not shown.
    expect(slaStateOf({ ...view, snoozedUntil: '2026-12-09T12:00:00.000Z' }).snoozedUntil).toBeNull();
    expect(slaStateOf({ ...view, status: 'resolved', breaches: ['claim'], closedAt: '2026-12-10T00:00:00.000Z' })).toEqual({
      level: 1,
      claimDueAt: null,
      resolveDueAt: null,
      breaches: ['claim'],
      snoozedUntil: null,
      dueAt: null,
    });
  });

  it('reads due times in office hours on their zone’s clock; a case without office hours says nothing of them', () => {
    const inHours: CaseView = {
      ...view,
      claimDueAt: '2026-12-14T12:00:00.000Z',
      resolveDueAt: '2026-12-21T16:00:00.000Z',
      officeHours: { claim: 'America/New_York', resolution: 'Europe/Paris' },
    };
    expect(slaStateOf(inHours).businessHours).toEqual({ claimDue: 'Mon 2026-12-14 07:00 America/New_York', resolveDue: 'Mon 2026-12-21 17:00 Europe/Paris' });
    // A level around the clock (null), and a claim no longer due.
    expect(slaStateOf({ ...inHours, officeHours: { claim: null, resolution: 'Europe/Paris' } }).businessHours).toEqual({
      claimDue: null,
      resolveDue: 'Mon 2026-12-21 17:00 Europe/Paris',
    });
    expect(slaStateOf({ ...inHours, status: 'claimed', owner: 'ana' }).businessHours).toEqual({ claimDue: null, resolveDue: 'Mon 2026-12-21 17:00 Europe/Paris' });
    expect(slaStateOf(view)).not.toHaveProperty('businessHours');
  });

  it('says why it escalated: criterion, reason, rule and version, policy version', () => {
    expect(escalationOf(view)).toEqual({
      criterion: 'rule:error-burst-escalation',
      reason: 'errors went on after the nudge',
      rule: { id: 'error-burst-escalation', version: 3 },
      policyVersion: 2,
      openedAt: '2026-12-09T10:00:00.000Z',
    });
    const { rule: _rule, ...byStall } = { ...view, criterion: 'stall:first-call' };
    expect(escalationOf(byStall)).not.toHaveProperty('rule');
  });
});
