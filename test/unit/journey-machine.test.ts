import { describe, expect, it } from 'vitest';
import { currentStage, stageViews } from '../../src/journey/evidence.ts';
import type { HandoffStepEffect, MachineEffect, NotifySlackEffect, SendNudgeEffect } from '../../src/journey/journey-effects.ts';
import type { JourneyEvent } from '../../src/journey/journey-event.ts';
import { MACHINE_VERSION } from '../../src/journey/journey-versions.ts';
import { stagesOf } from '../../src/journey/journey-machine.ts';
import { applyJourneyEvent, persistJourney, restoreJourney, startJourney, type JourneySnapshot } from '../../src/journey/journey-runtime.ts';

const at = (day: number, hour = 0) => new Date(Date.UTC(2026, 10, day, hour)).toISOString();

function run(events: JourneyEvent[], snapshot: JourneySnapshot = startJourney({ developerId: 'dev_1' })) {
  const effects: MachineEffect[] = [];
  for (const event of events) {
    const result = applyJourneyEvent(snapshot, event);
    snapshot = result.snapshot;
    effects.push(...result.effects);
  }
  return {
    snapshot,
    effects,
    stage: currentStage(snapshot.context.evidence, stagesOf(snapshot.context)),
    views: stageViews(snapshot.context.evidence, stagesOf(snapshot.context)),
  };
}

const docs = (id: string, t: string): JourneyEvent => ({ id, type: 'docs.viewed', occurredAt: t });
const signup = (id: string, t: string): JourneyEvent => ({ id, type: 'developer.signed_up', occurredAt: t, properties: { accountType: 'individual' } });
const key = (id: string, t: string): JourneyEvent => ({ id, type: 'api_key.created', occurredAt: t, properties: { mode: 'test' } });
const milestone = (causeEventId: string, stage: 'first_api_call' | 'active_integration' | 'production_deployment', t: string): JourneyEvent => ({
  id: `${causeEventId}#${stage}`,
  type: 'api.milestone',
  stage,
  occurredAt: t,
  causeEventId,
});
const quickstart = (id: string, t: string): JourneyEvent => ({ id, type: 'quickstart.completed', occurredAt: t });
const webhook = (id: string, t: string, mode: 'test' | 'live'): JourneyEvent => ({ id, type: 'webhook.registered', occurredAt: t, properties: { mode } });

describe('journey machine', () => {
  it('walks through every stage in order, one transition per stage, in the machine state too', () => {
    const { snapshot, effects, stage, views } = run([
      docs('e1', at(1)),
      signup('e2', at(1, 1)),
      key('e3', at(1, 2)),
      milestone('r1', 'first_api_call', at(1, 3)),
      quickstart('e5', at(2)),
      milestone('r2', 'active_integration', at(3)),
      milestone('r3', 'production_deployment', at(10)),
    ]);
    expect(stage).toBe('production_deployment');
    expect(snapshot.value).toMatchObject({ funnel: 'reached' });
    expect(views.every((v) => v.status === 'reached')).toBe(true);
    const transitions = effects.filter((e) => e.type === 'recordTransition');
    expect(transitions.map((t) => [t.from, t.to])).toEqual([
      [null, 'intent'],
      ['intent', 'account_created'],
      ['account_created', 'credential_provisioned'],
      ['credential_provisioned', 'first_api_call'],
      ['first_api_call', 'first_integration_milestone'],
      ['first_integration_milestone', 'active_integration'],
      ['active_integration', 'production_deployment'],
    ]);
    expect(transitions[3]).toMatchObject({ occurredAt: at(1, 3), causeEventId: 'r1', machineVersion: MACHINE_VERSION, developerId: 'dev_1' });
  });

  it('jumps forward: stages passed over are skipped, not invented', () => {
    const { effects, views, stage } = run([docs('e1', at(1)), milestone('r1', 'production_deployment', at(1, 5))]);
    expect(stage).toBe('production_deployment');
    expect(views.filter((v) => v.status === 'reached').map((v) => v.stage)).toEqual(['intent', 'production_deployment']);
    expect(views.filter((v) => v.status === 'skipped').map((v) => v.stage)).toEqual([
      'account_created',
      'credential_provisioned',
      'first_api_call',
      'first_integration_milestone',
      'active_integration',
    ]);
    expect(effects.filter((e) => e.type === 'recordTransition').map((t) => t.type === 'recordTransition' && t.to)).toEqual(['intent', 'production_deployment']);
  });

  it('fills in a skipped stage from late evidence, at its event time, marked late, without moving the stage back', () => {
    const { effects, views, stage } = run([signup('e1', at(1)), milestone('r9', 'active_integration', at(4)), key('e2', at(2))]);
    expect(stage).toBe('active_integration');
    expect(views.find((v) => v.stage === 'credential_provisioned')).toEqual({
      stage: 'credential_provisioned',
      status: 'reached',
      at: at(2),
      causeEventId: 'e2',
      late: true,
    });
    const last = effects.at(-1);
    expect(last).toMatchObject({ type: 'recordStage', stage: 'credential_provisioned', late: true });
    expect(effects.filter((e) => e.type === 'recordTransition')).toHaveLength(2);
  });

  it('moves a stage to earlier evidence that arrives later, and ignores later evidence', () => {
    const { views, effects } = run([signup('e1', at(1)), key('k2', at(3)), key('k1', at(2)), key('k3', at(4))]);
    expect(views.find((v) => v.stage === 'credential_provisioned')).toMatchObject({ at: at(2), causeEventId: 'k1' });
    expect(effects.filter((e) => e.type === 'recordStage' && e.stage === 'credential_provisioned')).toHaveLength(2);
  });

  it('treats a repeated event as nothing new: no effects', () => {
    const first = run([signup('e1', at(1))]);
    const again = run([signup('e1', at(1))], first.snapshot);
    expect(again.effects).toEqual([]);
  });

  it('only a live webhook proves production deployment', () => {
    expect(run([webhook('w1', at(1), 'test')]).stage).toBeNull();
    expect(run([webhook('w1', at(1), 'live')]).stage).toBe('production_deployment');
  });

  it('ignores events that prove no stage', () => {
    const { effects, stage } = run([{ id: 'x', type: 'email.opened', occurredAt: at(1) }]);
    expect(effects).toEqual([]);
    expect(stage).toBeNull();
  });

  it('survives a JSON round trip of its persisted snapshot (continue-as-new)', () => {
    const { snapshot } = run([signup('e1', at(1)), key('e2', at(2))]);
    const restored = restoreJourney(JSON.parse(JSON.stringify(persistJourney(snapshot))));
    expect(restored.value).toEqual(snapshot.value);
    const next = run([milestone('r1', 'first_api_call', at(3))], restored);
    expect(next.stage).toBe('first_api_call');
    expect(next.effects.find((e) => e.type === 'recordTransition')).toMatchObject({ from: 'credential_provisioned', to: 'first_api_call' });
  });

  it('turns a send the host gave up on into its own skipped decision, and changes nothing else', () => {
    const { snapshot } = run([signup('s1', at(1)), key('k1', at(1))]);
    const decision = {
      type: 'recordNudgeDecision',
      developerId: 'dev_1',
      decisionKey: 'dev_1/1',
      nudgeKey: 'first-call-help#1',
      ruleId: 'first-call-help',
      ruleVersion: 2,
      outcome: 'sent',
      template: 'first-call-help',
      segment: { engagement: 'new', channel: null, accountType: 'individual' },
      inputs: {},
      decidedAt: at(2),
    } as const;
    const send: SendNudgeEffect = { type: 'sendNudge', developerId: 'dev_1', decision, template: 'first-call-help', stage: 'credential_provisioned' };
    const result = applyJourneyEvent(snapshot, { type: 'nudge.send_failed', send, error: 'x'.repeat(600) });
    expect(result.effects).toEqual([{ ...decision, decisionKey: 'dev_1/1/failed', outcome: 'skipped', reason: `send_failed: ${'x'.repeat(600)}`.slice(0, 500) }]);
    expect(persistJourney(result.snapshot)).toEqual(persistJourney(snapshot));
  });

  it('turns a Slack notification the host gave up on into a slack_failed step of the same case', () => {
    const { snapshot } = run([signup('s1', at(1))]);
    const step = {
      type: 'recordHandoffStep',
      developerId: 'dev_1',
      stepKey: 'dev_1/h1/1',
      step: 'escalated',
      actor: null,
      at: at(2),
      detail: { reason: 'stall' },
      case: { id: 'dev_1/h1' },
      revision: 1,
      snapshot: { stage: 'account_created' },
    } as unknown as HandoffStepEffect;
    const notify = {
      type: 'notifySlack',
      developerId: 'dev_1',
      case: step.case,
      revision: 1,
      post: { level: 2, channel: '#escalations', mention: [] },
    } as unknown as NotifySlackEffect;
    const result = applyJourneyEvent(snapshot, { type: 'handoff.slack_failed', step, notify, error: 'channel_not_found', at: Date.parse(at(3)) });
    expect(result.effects).toEqual([
      { ...step, stepKey: 'dev_1/h1/1/slack_failed', step: 'slack_failed', actor: null, at: at(3), detail: { error: 'channel_not_found', level: 2, channel: '#escalations' } },
    ]);
    expect(persistJourney(result.snapshot)).toEqual(persistJourney(snapshot));
  });
});
