import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { HandoffStepEffect, MachineEffect, NudgeDecisionEffect, SendNudgeEffect } from '../../src/journey/journey-effects.ts';
import type { JourneyEvent } from '../../src/journey/journey-event.ts';
import { applyJourneyEvent, persistJourney, restoreJourney, startJourney, type JourneySnapshot } from '../../src/journey/journey-runtime.ts';
import { escalationPolicyDocument, type ActivePolicy } from '../../src/rules/escalation-policy-schema.ts';
import { rulesDocument, type ActiveRules } from '../../src/rules/rules-schema.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const shipped = rulesDocument.parse(parse(readFileSync(fileURLToPath(new URL('../../config/rules.yaml', import.meta.url)), 'utf8')));
const rules: ActiveRules = {
  version: 3,
  document: { ...structuredClone(shipped), policy: { ...shipped.policy, holdoutPercent: 0, quietHours: { start: '00:00', end: '00:00' } } },
};
const policy: ActivePolicy = { version: 2, document: escalationPolicyDocument.parse({}) };

const now = Date.UTC(2026, 10, 20, 12);
const iso = (ms: number) => new Date(ms).toISOString();

class Journey {
  snapshot: JourneySnapshot;
  constructor(readonly id: string) {
    this.snapshot = startJourney({ developerId: id });
  }
  send(event: Parameters<typeof applyJourneyEvent>[1]): MachineEffect[] {
    const result = applyJourneyEvent(this.snapshot, event);
    this.snapshot = result.snapshot;
    return result.effects;
  }
  decide(at: number, p: ActivePolicy | null = policy) {
    return this.send({ type: 'nudge.decide', now: at, rules, ...(p ? { policy: p } : {}) });
  }
}

const decisions = (effects: MachineEffect[]) => effects.filter((e): e is NudgeDecisionEffect => e.type === 'recordNudgeDecision');
const sends = (effects: MachineEffect[]) => effects.filter((e): e is SendNudgeEffect => e.type === 'sendNudge');
const steps = (effects: MachineEffect[]) => effects.filter((e): e is HandoffStepEffect => e.type === 'recordHandoffStep');

/** Signed up and got a key `keyAt`; the events imported or live. */
function history(id: string, keyAt: number, imported: boolean): JourneyEvent[] {
  const flag = imported ? { imported: true as const } : {};
  return [
    { id: `${id}-s`, type: 'developer.signed_up', occurredAt: iso(keyAt - HOUR), properties: { accountType: 'individual', acquisitionChannel: 'paid', timezone: 'UTC' }, ...flag },
    { id: `${id}-k`, type: 'api_key.created', occurredAt: iso(keyAt), properties: { mode: 'test' }, ...flag },
  ];
}

describe('backfill: imported history decides nothing for the past', () => {
  it('a developer stalled 10 days ago: every due nudge skipped (backfill) and used up, the stall marked escalated without a case', () => {
    const j = new Journey('dev-old');
    for (const e of history('dev-old', now - 10 * DAY, true)) j.send(e);
    expect(j.snapshot.context.backfillPending).toBe(true);
    const effects = j.decide(now);
    expect(sends(effects)).toEqual([]);
    expect(steps(effects)).toEqual([]);
    expect(decisions(effects).map((d) => [d.ruleId, d.outcome, d.reason])).toEqual([
      ['first-call-help', 'skipped', 'backfill'],
      ['first-call-second-nudge', 'skipped', 'backfill'],
    ]);
    expect(j.snapshot.context.backfillPending).toBeUndefined();
    expect(j.snapshot.context.handoff!.escalated).toEqual(['stall:no-first-call']);
    expect(j.snapshot.context.handoff!.active).toBeUndefined();
    // Later decisions send nothing for those rules and open no case for that stall.
    expect(sends(j.decide(now + 2 * DAY))).toEqual([]);
    expect(j.snapshot.context.handoff!.active).toBeUndefined();
  });

  it('imported 30 hours into the stage: the 24 h nudge is the past, the 72 h one is sent at 72 h, the stall escalates live at 7 days', () => {
    const keyAt = now - 30 * HOUR;
    const j = new Journey('dev-30h');
    for (const e of history('dev-30h', keyAt, true)) j.send(e);
    expect(decisions(j.decide(now)).map((d) => [d.ruleId, d.outcome, d.reason])).toEqual([['first-call-help', 'skipped', 'backfill']]);
    expect(j.snapshot.context.nudging!.wakeAt).toBe(keyAt + 72 * HOUR);
    expect(sends(j.decide(keyAt + 72 * HOUR)).map((s) => s.decision.ruleId)).toEqual(['first-call-second-nudge']);
    expect(j.snapshot.context.handoff!.wakeAt).toBe(keyAt + 7 * DAY);
    const escalated = j.decide(keyAt + 7 * DAY);
    expect(steps(escalated).map((s) => s.step)).toEqual(['escalated']);
    expect(j.snapshot.context.handoff!.active).toMatchObject({ criterion: 'stall:no-first-call' });
  });

  it('a live event after the import behaves as live', () => {
    const j = new Journey('dev-live');
    for (const e of history('dev-live', now - 10 * DAY, true)) j.send(e);
    j.decide(now);
    // A live burst is nudged; a live support ticket opens a case.
    j.send({ id: 'dev-live-b', type: 'api.error_burst', kind: 'unauthorized_burst', occurredAt: iso(now + HOUR), status: 401, count: 6 });
    expect(sends(j.decide(now + HOUR)).map((s) => s.decision.ruleId)).toEqual(['authentication-help']);
    j.send({ id: 'dev-live-t', type: 'support.ticket_created', occurredAt: iso(now + 2 * HOUR) });
    expect(steps(j.decide(now + 2 * HOUR)).map((s) => s.step)).toEqual(['escalated']);
    expect(j.snapshot.context.handoff!.active).toMatchObject({ criterion: 'support_ticket' });
  });

  it('imported bursts and tickets: rules used up as skipped (backfill), continued bursts and tickets marked escalated, no case', () => {
    const j = new Journey('dev-burst');
    for (const e of history('dev-burst', now - 40 * DAY, true)) j.send(e);
    j.send({ id: 'b1', type: 'api.error_burst', kind: 'unauthorized_burst', occurredAt: iso(now - 40 * DAY + HOUR), status: 401, count: 6, imported: true });
    j.send({ id: 'b2', type: 'api.error_burst', kind: 'unauthorized_burst', occurredAt: iso(now - 39 * DAY), status: 401, count: 6, continued: true, imported: true });
    j.send({ id: 'tk', type: 'support.ticket_created', occurredAt: iso(now - 38 * DAY), imported: true });
    const effects = j.decide(now);
    expect(sends(effects)).toEqual([]);
    expect(steps(effects)).toEqual([]);
    expect(
      decisions(effects)
        .filter((d) => d.reason === 'backfill')
        .map((d) => d.ruleId),
    ).toContain('authentication-help');
    expect([...j.snapshot.context.handoff!.escalated].sort()).toEqual(['error_burst_continued:unauthorized_burst', 'stall:no-first-call', 'support_ticket:tk']);
  });

  it('without a policy (journeys from before the handoff) the nudges are still skipped (backfill)', () => {
    const j = new Journey('dev-v2');
    for (const e of history('dev-v2', now - 10 * DAY, true)) j.send(e);
    const effects = j.decide(now, null);
    expect(sends(effects)).toEqual([]);
    expect(decisions(effects).map((d) => d.reason)).toEqual(['backfill', 'backfill']);
  });

  it('live history decides as before: the stall escalates, the latest due nudge is held for the person, the other superseded; no flag', () => {
    const j = new Journey('dev-same');
    for (const e of history('dev-same', now - 10 * DAY, false)) j.send(e);
    const effects = j.decide(now);
    expect(decisions(effects).map((d) => [d.ruleId, d.reason])).toEqual([
      ['first-call-help', 'superseded'],
      ['first-call-second-nudge', 'human_owned'],
    ]);
    expect(steps(effects).map((s) => s.step)).toEqual(['escalated']);
    // Without a policy (before the handoff), the latest due is sent.
    const v2 = new Journey('dev-same-2');
    for (const e of history('dev-same-2', now - 10 * DAY, false)) v2.send(e);
    expect(sends(v2.decide(now, null)).map((s) => s.decision.ruleId)).toEqual(['first-call-second-nudge']);
    expect('backfillPending' in j.snapshot.context).toBe(false);
  });

  it('the pending flag survives a persisted snapshot (continue-as-new)', () => {
    const j = new Journey('dev-persist');
    for (const e of history('dev-persist', now - 10 * DAY, true)) j.send(e);
    j.snapshot = restoreJourney(JSON.parse(JSON.stringify(persistJourney(j.snapshot))));
    expect(sends(j.decide(now))).toEqual([]);
    expect(j.snapshot.context.handoff!.active).toBeUndefined();
  });
});
