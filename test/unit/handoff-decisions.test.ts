import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { actionProblem, type HandoffAction } from '../../src/journey/handoff.ts';
import type { HandoffStepEffect, MachineEffect, NotifySlackEffect, NudgeDecisionEffect, SendNudgeEffect } from '../../src/journey/journey-effects.ts';
import type { JourneyEvent } from '../../src/journey/journey-event.ts';
import { nextWakeAt } from '../../src/journey/journey-machine.ts';
import { applyJourneyEvent, startJourney, type JourneySnapshot } from '../../src/journey/journey-runtime.ts';
import { escalationPolicyDocument, type ActivePolicy } from '../../src/rules/escalation-policy-schema.ts';
import { rulesDocument, type ActiveRules } from '../../src/rules/rules-schema.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const shipped = rulesDocument.parse(parse(readFileSync(fileURLToPath(new URL('../../config/rules.yaml', import.meta.url)), 'utf8')));
const rules = (edit: (doc: ActiveRules['document']) => void = () => {}): ActiveRules => {
  const document = structuredClone({ ...shipped, policy: { ...shipped.policy, holdoutPercent: 0, quietHours: { start: '00:00', end: '00:00' } } });
  edit(document);
  return { version: 4, document };
};
const policy = (overrides: Record<string, unknown> = {}): ActivePolicy => ({ version: 2, document: escalationPolicyDocument.parse(overrides) });

const t0 = Date.UTC(2026, 10, 2, 12);
const iso = (ms: number) => new Date(ms).toISOString();

/** A journey driven through the machine exactly as the workflow drives it. */
class Journey {
  snapshot: JourneySnapshot;
  effects: MachineEffect[] = [];
  constructor(readonly id: string) {
    this.snapshot = startJourney({ developerId: id });
  }
  send(event: JourneyEvent | Parameters<typeof applyJourneyEvent>[1]) {
    const result = applyJourneyEvent(this.snapshot, event);
    this.snapshot = result.snapshot;
    this.effects.push(...result.effects);
    return result.effects;
  }
  decide(now: number, r = rules(), p: ActivePolicy | null = policy()) {
    return this.send({ type: 'nudge.decide', now, rules: r, ...(p ? { policy: p } : {}) });
  }
  act(action: Omit<HandoffAction, 'type' | 'caseId'> & { caseId?: string }) {
    const caseId = action.caseId ?? this.snapshot.context.handoff!.active!.id;
    const problem = actionProblem(this.snapshot.context.handoff, { ...action, caseId });
    if (problem) return problem;
    return this.send({ type: 'handoff.action', ...action, caseId });
  }
  get handoff() {
    return this.snapshot.context.handoff!;
  }
}

const steps = (effects: MachineEffect[]) => effects.filter((e): e is HandoffStepEffect => e.type === 'recordHandoffStep').map((e) => e.step);
const posts = (effects: MachineEffect[]) => effects.filter((e): e is NotifySlackEffect => e.type === 'notifySlack' && e.post !== undefined).map((e) => e.post);
const nudgeDecisions = (effects: MachineEffect[]) => effects.filter((e): e is NudgeDecisionEffect => e.type === 'recordNudgeDecision');
const sends = (effects: MachineEffect[]) => effects.filter((e): e is SendNudgeEffect => e.type === 'sendNudge');

function withKey(id: string, accountType = 'individual') {
  const j = new Journey(id);
  j.send({ id: `${id}-s`, type: 'developer.signed_up', occurredAt: iso(t0 - HOUR), properties: { accountType, acquisitionChannel: 'paid', timezone: 'UTC' } });
  j.send({ id: `${id}-k`, type: 'api_key.created', occurredAt: iso(t0), properties: { mode: 'test' } });
  return j;
}

describe('handoff decisions (pure, through the machine)', () => {
  it('escalates a stall at its threshold, sooner for organizations, once', () => {
    const individual = withKey('dev-i');
    expect(steps(individual.decide(t0 + 6 * DAY))).toEqual([]);
    expect(individual.handoff.wakeAt).toBe(t0 + 7 * DAY);
    const opened = individual.decide(t0 + 7 * DAY);
    expect(steps(opened)).toEqual(['escalated']);
    expect(posts(opened)).toEqual([{ level: 1, channel: '#onboarding-help', mention: [] }]);
    const step = opened.find((e): e is HandoffStepEffect => e.type === 'recordHandoffStep')!;
    expect(step.case).toMatchObject({ id: 'dev-i/h1', status: 'open', criterion: 'stall:no-first-call', level: 1, policyVersion: 2, claimDueAt: iso(t0 + 7 * DAY + 4 * HOUR) });
    expect(step.case.reason).toBe('no first api call 7 days after credential provisioned');
    expect(step.snapshot).toMatchObject({ stage: 'credential_provisioned', stageReachedAt: iso(t0) });
    expect(steps(individual.decide(t0 + 7 * DAY + HOUR))).toEqual([]); // not twice

    const organization = withKey('dev-o', 'organization');
    expect(steps(organization.decide(t0 + 3 * DAY))).toEqual(['escalated']);
  });

  it('moves an unclaimed case up a level at the claim SLA, and marks a breached resolution SLA', () => {
    const j = withKey('dev-sla');
    const openedAt = t0 + 7 * DAY;
    j.decide(openedAt);
    const breach = j.decide(openedAt + 4 * HOUR);
    expect(steps(breach)).toEqual(['sla_breached', 're_escalated']);
    expect(posts(breach)).toEqual([{ level: 2, channel: '#onboarding-escalations', mention: ['S0ONBOARDING'] }]);
    expect(j.handoff.active).toMatchObject({ level: 2, breaches: ['claim'] });
    // At the last level the next claim breach is only marked, once.
    expect(steps(j.decide(openedAt + 8 * HOUR))).toEqual(['sla_breached']);
    expect(steps(j.decide(openedAt + 12 * HOUR))).toEqual([]);
    j.act({ action: 'claim', actor: 'U1', at: openedAt + 13 * HOUR });
    expect(steps(j.decide(openedAt + 2 * DAY))).toEqual(['sla_breached']);
    expect(j.handoff.active?.breaches).toEqual(['claim', 'resolution']);
    expect(j.handoff.wakeAt).toBeUndefined();
  });

  it("counts SLAs in office hours: a Friday-evening case falls due Monday, the next level's clock in that level's hours", () => {
    const paris = { timeZone: 'Europe/Paris', hours: { 'mon-fri': '09:00-17:00' } };
    const newYork = { timeZone: 'America/New_York', hours: { 'mon-fri': '09:00-17:00' } };
    const p = policy({ criteria: { stalls: [] }, officeHours: paris, levels: [{ channel: '#onboarding-help' }, { channel: '#onboarding-us', officeHours: newYork }] });
    const j = withKey('dev-hours');
    const friday = Date.parse('2026-12-11T16:00:00Z'); // 17:00 in Paris
    j.send({ id: 'dev-hours-t', type: 'support.ticket_created', occurredAt: iso(friday) });
    const opened = j.decide(friday, rules(), p);
    const view = opened.find((e): e is HandoffStepEffect => e.type === 'recordHandoffStep')!.case;
    // 4 h: Monday 13:00 Paris; 2 d (48 h) of 8-hour days: the Monday after, 17:00.
    expect(view).toMatchObject({
      claimDueAt: '2026-12-14T12:00:00.000Z',
      resolveDueAt: '2026-12-21T16:00:00.000Z',
      officeHours: { claim: 'Europe/Paris', resolution: 'Europe/Paris' },
    });
    expect(j.handoff.wakeAt).toBe(Date.parse('2026-12-14T12:00:00Z'));
    expect(steps(j.decide(Date.parse('2026-12-14T11:59:00Z'), rules(), p))).toEqual([]);
    const breach = j.decide(Date.parse('2026-12-14T12:00:00Z'), rules(), p);
    expect(steps(breach)).toEqual(['sla_breached', 're_escalated']);
    // Level 2 works New York hours: 07:00 there, so its 4 h run from 09:00 EST to 13:00 EST.
    expect(j.handoff.active).toMatchObject({ level: 2, claimDueAt: Date.parse('2026-12-14T18:00:00Z') });
    expect(breach.find((e): e is HandoffStepEffect => e.type === 'recordHandoffStep' && e.step === 're_escalated')!.case.officeHours).toEqual({
      claim: 'America/New_York',
      resolution: 'Europe/Paris',
    });
  });

  it('without office hours keeps wall-clock due times and the case exactly as before (no officeHours anywhere)', () => {
    const j = withKey('dev-clock');
    j.send({ id: 'dev-clock-t', type: 'support.ticket_created', occurredAt: iso(t0) });
    const opened = j.decide(t0);
    const view = opened.find((e): e is HandoffStepEffect => e.type === 'recordHandoffStep')!.case;
    expect(view).toMatchObject({ claimDueAt: iso(t0 + 4 * HOUR), resolveDueAt: iso(t0 + 2 * DAY) });
    expect(view).not.toHaveProperty('officeHours');
    expect(j.handoff.active!.levels).toEqual([
      { channel: '#onboarding-help', mention: [] },
      { channel: '#onboarding-escalations', mention: ['S0ONBOARDING'] },
    ]);
  });

  it('takes claim, note, snooze and return; a double claim changes nothing; nudges resume with fresh deadlines', () => {
    const j = withKey('dev-flow');
    const r = rules((doc) => (doc.policy.frequencyCap = { max: 10, per: '7d' }));
    j.decide(t0 + 25 * HOUR, r); // first-call-help sent
    const openedAt = t0 + 7 * DAY;
    j.decide(openedAt, r);
    expect(j.handoff.active?.status).toBe('open');
    expect(steps(j.act({ action: 'claim', actor: 'U1', at: openedAt + HOUR }) as MachineEffect[])).toEqual(['claimed']);
    expect(j.act({ action: 'claim', actor: 'U1', at: openedAt + HOUR + 1 })).toEqual([]);
    expect(steps(j.act({ action: 'note', actor: 'U1', note: 'asked for their curl', at: openedAt + 2 * HOUR }) as MachineEffect[])).toEqual(['note']);
    j.act({ action: 'snooze', actor: 'U1', snoozeMs: DAY, at: openedAt + 3 * HOUR });
    expect(j.handoff.active).toMatchObject({ status: 'snoozed', snoozedUntil: openedAt + 27 * HOUR });
    j.decide(openedAt + 3 * HOUR, r);
    expect(j.handoff.wakeAt).toBe(openedAt + 27 * HOUR);
    expect(steps(j.decide(openedAt + 27 * HOUR, r))).toEqual(['snooze_ended']);
    expect(j.handoff.active?.status).toBe('claimed');
    const returnedAt = openedAt + 28 * HOUR;
    const closed = j.act({ action: 'return', actor: 'U1', note: 'key fixed, they can go on alone', at: returnedAt }) as MachineEffect[];
    expect(steps(closed)).toEqual(['returned']);
    expect(closed.find((e): e is HandoffStepEffect => e.type === 'recordHandoffStep')).toMatchObject({
      detail: { note: 'key fixed, they can go on alone' },
      case: { status: 'returned', closedAt: iso(returnedAt) },
    });
    expect(j.handoff.active).toBeUndefined();
    expect(actionProblem(j.handoff, { caseId: 'dev-flow/h1', action: 'note', actor: 'U1', note: 'late' })).toMatchObject({ code: 'closed' });
    // first-call-second-nudge (72 h after the key) was held back while owned; now it counts from the return.
    expect(sends(j.decide(returnedAt + 71 * HOUR, r))).toEqual([]);
    const resumed = j.decide(returnedAt + 72 * HOUR, r);
    expect(sends(resumed).map((s) => s.decision.ruleId)).toEqual(['first-call-second-nudge']);
  });

  it("keeps a claimed case its owner's: another agent takes it over only explicitly, and acts on it only with the policy or the admin key", () => {
    const j = withKey('dev-own');
    const openedAt = t0 + 7 * DAY;
    j.decide(openedAt);
    const caseId = 'dev-own/h1';
    // Unclaimed: anyone acts.
    expect(actionProblem(j.handoff, { caseId, action: 'note', actor: 'U2', note: 'seen' })).toBeUndefined();
    j.act({ action: 'claim', actor: 'U1', at: openedAt + HOUR });
    expect(actionProblem(j.handoff, { caseId, action: 'claim', actor: 'U2' })).toEqual({
      code: 'owned',
      owner: 'U1',
      message: `case ${caseId} is claimed by U1: claim with takeOver to take it over`,
    });
    for (const action of [
      { action: 'note', note: 'mine now?' },
      { action: 'snooze', snoozeMs: HOUR },
      { action: 'return' },
      { action: 'resolve', outcome: 'unblocked' },
    ] as const) {
      expect(actionProblem(j.handoff, { caseId, actor: 'U2', ...action }), action.action).toMatchObject({
        code: 'owned',
        owner: 'U1',
        message: expect.stringContaining(`only they may ${action.action}`),
      });
      expect(actionProblem(j.handoff, { caseId, actor: 'U2', bypassOwner: 'policy', ...action })).toBeUndefined();
      expect(actionProblem(j.handoff, { caseId, actor: 'admin (U2)', bypassOwner: 'admin', ...action })).toBeUndefined();
      expect(actionProblem(j.handoff, { caseId, actor: 'U1', ...action })).toBeUndefined();
    }
    // The policy lets any agent act, not take over silently; the admin key may.
    expect(actionProblem(j.handoff, { caseId, action: 'claim', actor: 'U2', bypassOwner: 'policy' })).toMatchObject({ code: 'owned' });
    expect(actionProblem(j.handoff, { caseId, action: 'claim', actor: 'admin (U2)', bypassOwner: 'admin' })).toBeUndefined();
    // Snoozed by its owner, it stays theirs.
    j.act({ action: 'snooze', actor: 'U1', snoozeMs: HOUR, at: openedAt + 2 * HOUR });
    expect(actionProblem(j.handoff, { caseId, action: 'note', actor: 'U2', note: 'hello' })).toMatchObject({ code: 'owned', owner: 'U1' });
    const taken = j.act({ action: 'claim', actor: 'U2', takeOver: true, at: openedAt + 3 * HOUR }) as MachineEffect[];
    expect(taken.find((e): e is HandoffStepEffect => e.type === 'recordHandoffStep')).toMatchObject({
      step: 'claimed',
      actor: 'U2',
      detail: { from: 'U1' },
      case: { owner: 'U2', status: 'claimed' },
    });
    expect(actionProblem(j.handoff, { caseId, action: 'note', actor: 'U1', note: 'still mine?' })).toMatchObject({ code: 'owned', owner: 'U2' });
  });

  it('records a note by reference: the step carries the note id, never text (the edge keeps the text in PostgreSQL)', () => {
    const j = withKey('dev-ref');
    const openedAt = t0 + 7 * DAY;
    j.decide(openedAt);
    expect(actionProblem(j.handoff, { caseId: 'dev-ref/h1', action: 'note', actor: 'U1', noteId: 'note_1' })).toBeUndefined();
    const noted = j.act({ action: 'note', actor: 'U1', noteId: 'note_1', at: openedAt + HOUR }) as MachineEffect[];
    const step = (effects: MachineEffect[]) => effects.find((e): e is HandoffStepEffect => e.type === 'recordHandoffStep')!;
    expect(step(noted).detail).toEqual({ noteId: 'note_1' });
    expect(noted.find((e) => e.type === 'notifySlack')).toMatchObject({ step: { detail: { noteId: 'note_1' } } });
    const resolved = j.act({ action: 'resolve', actor: 'U1', outcome: 'unblocked', noteId: 'note_2', at: openedAt + 2 * HOUR }) as MachineEffect[];
    expect(step(resolved).detail).toEqual({ outcome: 'unblocked', noteId: 'note_2' });
    expect(step(resolved).case).not.toHaveProperty('friction'); // none named: the case's view as before frictions
  });

  it("keeps a resolve's friction in the resolved step and the closed case", () => {
    const j = withKey('dev-fr');
    const openedAt = t0 + 7 * DAY;
    j.decide(openedAt);
    const resolved = j.act({ action: 'resolve', actor: 'U1', outcome: 'unblocked', friction: 'missing_docs', at: openedAt + HOUR }) as MachineEffect[];
    const step = resolved.find((e): e is HandoffStepEffect => e.type === 'recordHandoffStep')!;
    expect(step.detail).toEqual({ outcome: 'unblocked', friction: 'missing_docs' });
    expect(step.case).toMatchObject({ status: 'resolved', outcome: 'unblocked', friction: 'missing_docs' });
    expect(resolved.find((e) => e.type === 'notifySlack')).toMatchObject({ step: { detail: { friction: 'missing_docs' } } });
  });

  it('holds nudges while a person owns the case, recording human_owned once', () => {
    const j = new Journey('dev-held');
    j.send({ id: 'h-s', type: 'developer.signed_up', occurredAt: iso(t0 - HOUR), properties: { accountType: 'individual' } });
    j.send({ id: 'h-k', type: 'api_key.created', occurredAt: iso(t0) });
    j.send({ id: 'h-t', type: 'support.ticket_created', occurredAt: iso(t0 + HOUR), properties: { subject: 'cannot authenticate' } });
    const opened = j.decide(t0 + HOUR);
    expect(steps(opened)).toEqual(['escalated']);
    expect(j.handoff.active).toMatchObject({ criterion: 'support_ticket', reason: 'support ticket: cannot authenticate' });
    const held = j.decide(t0 + 25 * HOUR);
    expect(nudgeDecisions(held)).toMatchObject([{ ruleId: 'first-call-help', outcome: 'skipped', reason: 'human_owned' }]);
    expect(sends(held)).toEqual([]);
    expect(nudgeDecisions(j.decide(t0 + 26 * HOUR))).toEqual([]); // recorded once
    // A second ticket joins the open case.
    j.send({ id: 'h-t2', type: 'support.ticket_created', occurredAt: iso(t0 + 27 * HOUR) });
    expect(steps(j.decide(t0 + 27 * HOUR))).toEqual(['ticket']);
  });

  it('stops automated nudges for good after an outcome the policy says so for', () => {
    const j = withKey('dev-nofit');
    j.send({ id: 'n-t', type: 'support.ticket_created', occurredAt: iso(t0) });
    j.decide(t0 + HOUR);
    expect(j.act({ action: 'resolve', actor: 'U1', outcome: 'maybe', at: t0 + 2 * HOUR })).toMatchObject({ code: 'invalid' });
    expect(steps(j.act({ action: 'resolve', actor: 'U1', outcome: 'not-a-fit', at: t0 + 2 * HOUR }) as MachineEffect[])).toEqual(['resolved']);
    expect(nudgeDecisions(j.decide(t0 + 30 * HOUR))).toMatchObject([{ outcome: 'skipped', reason: 'stopped_by_handoff' }]);
  });

  it("escalates on a rule's escalate action, with the rule and its version", () => {
    const r = rules((doc) =>
      doc.rules.push({
        id: 'call-them',
        enabled: true,
        when: { stage: 'credential_provisioned', after: '48h' },
        action: { escalate: { reason: 'two days without a call' } },
        maxPerDeveloper: 1,
      }),
    );
    const j = withKey('dev-rule');
    const effects = j.decide(t0 + 49 * HOUR, r);
    expect(nudgeDecisions(effects)).toMatchObject([
      { ruleId: 'first-call-help', reason: 'superseded' },
      { ruleId: 'call-them', outcome: 'escalated', reason: 'two days without a call', ruleVersion: 4 },
    ]);
    expect(j.handoff.active).toMatchObject({ criterion: 'rule:call-them', rule: { id: 'call-them', version: 4 } });
  });

  it('hears a hard bounce or a complaint (the earliest wins) as email that does not reach them, and a soft bounce as nothing', () => {
    const soft = withKey('dev-soft');
    soft.send({ id: 'soft-1', type: 'email.bounced', occurredAt: iso(t0 + HOUR), properties: { bounceType: 'soft' } });
    expect(sends(soft.decide(t0 + 25 * HOUR))).toHaveLength(1);

    const bounced = withKey('dev-bounced');
    bounced.send({ id: 'complaint-1', type: 'email.complained', occurredAt: iso(t0 + 3 * HOUR) });
    bounced.send({ id: 'bounce-1', type: 'email.bounced', occurredAt: iso(t0 + 2 * HOUR), properties: { bounceType: 'hard' } });
    expect(bounced.snapshot.context.nudging!.undeliverable).toEqual({ reason: 'hard_bounce', at: iso(t0 + 2 * HOUR) });
    const effects = bounced.decide(t0 + 25 * HOUR);
    expect(sends(effects)).toEqual([]);
    expect(nudgeDecisions(effects)).toMatchObject([{ ruleId: 'first-call-help', outcome: 'skipped', segment: { engagement: 'none' } }]);
    expect(bounced.handoff.active).toMatchObject({ criterion: 'no_email_engagement', reason: `email does not reach them: hard bounce on ${iso(t0).slice(0, 10)}` });
  });

  it('escalates when email is not reaching the developer, and when errors go on after their nudge', () => {
    const quiet = withKey('dev-none');
    quiet.snapshot = { ...quiet.snapshot, context: { ...quiet.snapshot.context, nudging: { ...quiet.snapshot.context.nudging!, sends: 3 } } } as JourneySnapshot;
    quiet.decide(t0 + 25 * HOUR);
    expect(quiet.handoff.active).toMatchObject({ criterion: 'no_email_engagement' });

    const burst = (continued: boolean): JourneyEvent => ({
      id: `b-${continued}`,
      type: 'api.error_burst',
      kind: 'unauthorized_burst',
      occurredAt: iso(t0 + HOUR),
      status: 401,
      count: 6,
      ...(continued ? { continued: true } : {}),
    });
    const errors = withKey('dev-burst');
    errors.send(burst(false));
    expect(sends(errors.decide(t0 + HOUR)).map((s) => s.template)).toEqual(['authentication-help']);
    errors.send(burst(true));
    errors.decide(t0 + 2 * HOUR);
    expect(errors.handoff.active).toMatchObject({ criterion: 'error_burst_continued', reason: '6 × 401 after the authentication-help nudge' });

    // Not nudged (no consent): nothing to go on after, no escalation.
    const unnudged = withKey('dev-burst-2');
    unnudged.send({ id: 'c', type: 'consent.updated', occurredAt: iso(t0), properties: { emailConsent: 'revoked' } });
    unnudged.send(burst(false));
    unnudged.send(burst(true));
    unnudged.decide(t0 + 2 * HOUR);
    expect(unnudged.handoff.active).toBeUndefined();
  });

  it('without a policy (journeys from before the handoff) decides nudges exactly as machine version 2 did', () => {
    const r = rules((doc) =>
      doc.rules.push({ id: 'call-them', enabled: true, when: { stage: 'credential_provisioned', after: '48h' }, action: { escalate: { reason: 'x' } }, maxPerDeveloper: 1 }),
    );
    const j = withKey('dev-old');
    const effects = j.decide(t0 + 49 * HOUR, r, null);
    expect(nudgeDecisions(effects).map((d) => [d.ruleId, d.outcome, d.reason])).toEqual([
      ['first-call-help', 'skipped', 'superseded'],
      ['call-them', 'skipped', 'escalation_not_available'],
    ]);
    expect(j.snapshot.context.handoff).toBeUndefined();
    expect(nextWakeAt(j.snapshot.context)).toBe(t0 + 72 * HOUR);
  });
});
