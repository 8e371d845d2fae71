import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { rulesStageIssues } from '../../src/funnel/funnel-references.ts';
import { shippedFunnel } from '../../src/funnel/funnel-file.ts';
import type { EvidenceByStage } from '../../src/journey/evidence.ts';
import { journeyMachine } from '../../src/journey/journey-machine.ts';
import { decideNudges, initialNudgeState, type DecideInput, type NudgeState } from '../../src/journey/nudging.ts';
import { SHIPPED_STAGES } from '../../src/journey/stages.ts';
import { rulesDocument, type ActiveRules } from '../../src/rules/rules-schema.ts';

/** Rules that wait for an event's absence: "no teammate invited three days after active integration". */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const t0 = Date.UTC(2026, 10, 2, 12);
const iso = (at: number) => new Date(at).toISOString();

function rules(policy: Record<string, unknown> = {}, extra: unknown[] = []): ActiveRules {
  const document = rulesDocument.parse({
    policy: { holdoutPercent: 0, quietHours: { start: '00:00', end: '00:00' }, frequencyCap: { max: 5, per: '7d' }, ...policy },
    rules: [{ id: 'invite-your-team', when: { event: 'team.invited', absentAfter: '3d', since: 'active_integration' }, action: { send: 'invite-your-team' } }, ...extra],
  });
  return { version: 3, document };
}

const evidence = (stages: Record<string, number>): EvidenceByStage =>
  Object.fromEntries(Object.entries(stages).map(([stage, at]) => [stage, { occurredAt: iso(at), eventId: `e-${stage}` }]));

const active = evidence({ account_created: t0 - DAY, first_api_call: t0 - HOUR, active_integration: t0 });

function decide(input: Partial<DecideInput> & { state?: NudgeState }) {
  return decideNudges({ developerId: 'dev', evidence: active, stages: SHIPPED_STAGES, state: initialNudgeState(), rules: rules(), now: t0, ...input });
}

const outcomes = (effects: ReturnType<typeof decideNudges>['effects']) =>
  effects.map((e) => (e.type === 'sendNudge' ? ['send', e.decision.ruleId, e.template] : [e.outcome, e.ruleId, e.reason ?? null]));

describe('rules that wait for an event', () => {
  it('fall due `absentAfter` after reaching `since`, and send with the awaited event in the inputs', () => {
    const before = decide({ now: t0 + HOUR });
    expect(before.effects).toEqual([]);
    expect(before.state.wakeAt).toBe(t0 + 3 * DAY);

    const due = decide({ now: t0 + 3 * DAY });
    expect(outcomes(due.effects)).toEqual([['send', 'invite-your-team', 'invite-your-team']]);
    const [send] = due.effects;
    expect(send?.type === 'sendNudge' && send.decision.inputs).toMatchObject({ absentEvent: 'team.invited', stage: 'active_integration' });
    expect(due.state.wakeAt).toBeUndefined(); // used up (maxPerDeveloper 1)
  });

  it('never fall due for a developer who sent the event, before or after `since`', () => {
    const seen = { ...initialNudgeState(), seen: { 'team.invited': iso(t0 - 2 * DAY) } };
    const { effects, state } = decide({ state: seen, now: t0 + 4 * DAY });
    expect(effects).toEqual([]);
    expect(state.wakeAt).toBeUndefined();
  });

  it('wait for `since` to be reached; without `since` they count from the first stage reached', () => {
    const earlier = evidence({ account_created: t0, first_api_call: t0 + HOUR });
    expect(decide({ evidence: earlier, now: t0 + 10 * DAY }).effects).toEqual([]);

    const fromFirst = rules({}, []);
    fromFirst.document.rules[0]!.when = { event: 'team.invited', absentAfter: '2d' };
    const due = decide({ evidence: earlier, rules: fromFirst, now: t0 + HOUR });
    expect(due.state.wakeAt).toBe(t0 + 2 * DAY); // from account_created, not from first_api_call
  });

  it('are not cancelled by moving on to a later stage, unlike a stall rule', () => {
    const live = evidence({ account_created: t0 - DAY, active_integration: t0, production_deployment: t0 + DAY });
    expect(outcomes(decide({ evidence: live, now: t0 + 3 * DAY }).effects)).toEqual([['send', 'invite-your-team', 'invite-your-team']]);
  });

  it('held back by quiet hours, are cancelled when the event arrives before they go out', () => {
    const quiet = rules({ quietHours: { start: '00:00', end: '23:59' } });
    const deferred = decide({ rules: quiet, now: t0 + 3 * DAY });
    expect(outcomes(deferred.effects)).toEqual([['scheduled', 'invite-your-team', 'quiet_hours']]);
    expect(deferred.state.deferred).toMatchObject({ awaiting: 'team.invited', stage: null });

    const invited = { ...deferred.state, seen: { 'team.invited': iso(t0 + 3 * DAY + HOUR) } };
    const later = decide({ rules: quiet, state: invited, now: t0 + 3 * DAY + 2 * HOUR });
    expect(outcomes(later.effects)).toEqual([['cancelled', 'invite-your-team', 'event_seen']]);
    expect(later.state.deferred).toBeUndefined();
    expect(later.state.fired['invite-your-team']).toBe(1);
  });

  it('wait while a person owns the case and count afresh from its close, like stalls', () => {
    const owned = decide({ now: t0 + 3 * DAY, handoff: { owned: true, stopped: false } });
    expect(outcomes(owned.effects)).toEqual([['skipped', 'invite-your-team', 'human_owned']]);
    expect(owned.state.fired['invite-your-team']).toBeUndefined(); // not used up

    const resumedAt = t0 + 5 * DAY;
    const after = decide({ state: owned.state, now: resumedAt + HOUR, handoff: { owned: false, resumedAt, stopped: false } });
    expect(after.effects).toEqual([]);
    expect(after.state.wakeAt).toBe(resumedAt + 3 * DAY);
  });

  it('already due when imported history arrives are the past: skipped (backfill), never sent', () => {
    expect(outcomes(decide({ now: t0 + 4 * DAY, backfill: true }).effects)).toEqual([['skipped', 'invite-your-team', 'backfill']]);
  });

  it('act beside a stall rule of the current stage due at the same time', () => {
    const both = rules({}, [{ id: 'go-live', when: { stage: 'active_integration', after: '3d' }, action: { send: 'go-live-checklist' } }]);
    expect(outcomes(decide({ rules: both, now: t0 + 3 * DAY }).effects)).toEqual([
      ['send', 'go-live', 'go-live-checklist'],
      ['send', 'invite-your-team', 'invite-your-team'],
    ]);
  });
});

describe('the journey hears which events a developer sent', () => {
  it('keeps the earliest event time of each type, whatever order `event.seen` arrives in', () => {
    const actor = createActor(journeyMachine, { input: { developerId: 'dev' } }).start();
    const seen = (id: string, eventType: string, at: number) => actor.send({ type: 'event.seen', id, eventType, occurredAt: iso(at) });
    seen('a#seen', 'team.invited', t0 + DAY);
    seen('b#seen', 'team.invited', t0);
    seen('c#seen', 'team.invited', t0 + 2 * DAY);
    seen('d#seen', 'payment.succeeded', t0 + HOUR);
    expect(actor.getSnapshot().context.nudging?.seen).toEqual({ 'team.invited': iso(t0), 'payment.succeeded': iso(t0 + HOUR) });
  });
});

describe('validating a rule that waits for an event', () => {
  const ruleWith = (when: unknown) => rulesDocument.safeParse({ rules: [{ id: 'r', when, action: { send: 't' } }] });

  it('takes any event type but api.request, and a duration', () => {
    expect(ruleWith({ event: 'team.invited', absentAfter: '3d' }).success).toBe(true);
    expect(
      ruleWith({ event: 'api.request', absentAfter: '3d' })
        .error?.issues.map((i) => i.message)
        .join(),
    ).toMatch(/api\.request cannot be awaited/);
    expect(ruleWith({ event: 'Team Invited', absentAfter: '3d' }).success).toBe(false);
    expect(ruleWith({ event: 'team.invited', absentAfter: 'soon' }).success).toBe(false);
  });

  it('refuses a `since` stage the funnel in force does not have, naming the field', () => {
    const document = rulesDocument.parse({ rules: [{ id: 'invite', when: { event: 'team.invited', absentAfter: '3d', since: 'team_formed' }, action: { send: 't' } }] });
    expect(rulesStageIssues(shippedFunnel().document, document)).toEqual([
      { path: ['rules', 0, 'when', 'since'], rule: 'invite', message: expect.stringContaining('no stage "team_formed" in the funnel') },
    ]);
  });
});
