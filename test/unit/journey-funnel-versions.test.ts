import { describe, expect, it } from 'vitest';
import { currentStage } from '../../src/journey/evidence.ts';
import type { MachineEffect } from '../../src/journey/journey-effects.ts';
import type { JourneyEvent } from '../../src/journey/journey-event.ts';
import { stagesOf } from '../../src/journey/journey-machine.ts';
import { applyJourneyEvent, persistJourney, restoreJourney, startJourney, type JourneySnapshot } from '../../src/journey/journey-runtime.ts';
import { NO_FUNNEL_YET, SHIPPED_STAGES, type JourneyFunnel } from '../../src/journey/stages.ts';

const at = (day: number, hour = 0) => new Date(Date.UTC(2026, 10, day, hour)).toISOString();

const PAYMENTS: JourneyFunnel = { version: 2, stages: ['signed_up', 'first_call', 'sandbox_payment', 'live_payment'] };

function run(events: JourneyEvent[], snapshot: JourneySnapshot) {
  const effects: MachineEffect[] = [];
  for (const event of events) {
    const result = applyJourneyEvent(snapshot, event);
    snapshot = result.snapshot;
    effects.push(...result.effects);
  }
  return { snapshot, effects, stage: currentStage(snapshot.context.evidence, stagesOf(snapshot.context)) };
}

const proved = (funnel: JourneyFunnel, stage: string, causeEventId: string, occurredAt: string): JourneyEvent => ({
  id: `${causeEventId}#${stage}@v${funnel.version}`,
  type: 'stage.proved',
  stage,
  occurredAt,
  causeEventId,
  funnel,
});
const signup = (id: string, t: string): JourneyEvent => ({ id, type: 'developer.signed_up', occurredAt: t, properties: { accountType: 'individual' } });
const key = (id: string, t: string): JourneyEvent => ({ id, type: 'api_key.created', occurredAt: t, properties: { mode: 'test' } });

describe('a journey following funnel versions', () => {
  const fresh = () => startJourney({ developerId: 'dev_1', funnel: NO_FUNNEL_YET });

  it('derives no stage from the events themselves: only stage.proved moves it', () => {
    const { effects, stage } = run([signup('e1', at(1)), key('e2', at(1, 1))], fresh());
    expect(stage).toBeNull();
    expect(effects.filter((e) => e.type === 'recordStage' || e.type === 'recordTransition')).toEqual([]);
  });

  it("follows the first funnel version it hears of, in that version's order, recording rank and version", () => {
    const { snapshot, effects, stage } = run(
      [proved(PAYMENTS, 'signed_up', 'e1', at(1)), proved(PAYMENTS, 'sandbox_payment', 'p1', at(3)), proved(PAYMENTS, 'first_call', 'r1', at(2))],
      fresh(),
    );
    expect(snapshot.context.funnel).toEqual(PAYMENTS);
    expect(stage).toBe('sandbox_payment');
    expect(effects.filter((e) => e.type === 'recordStage').map((e) => [e.stage, e.funnelVersion, e.late])).toEqual([
      ['signed_up', 2, false],
      ['sandbox_payment', 2, false],
      ['first_call', 2, true],
    ]);
    // The read model's current stage, with its rank in the version, each time it moved.
    expect(effects.filter((e) => e.type === 'recordCurrentStage').map((e) => [e.stage, e.rank, e.at])).toEqual([
      ['signed_up', 0, at(1)],
      ['sandbox_payment', 2, at(3)],
    ]);
    expect(effects.filter((e) => e.type === 'recordTransition').map((e) => [e.from, e.to, e.funnelVersion])).toEqual([
      [null, 'signed_up', 2],
      ['signed_up', 'sandbox_payment', 2],
    ]);
  });

  it('ignores proofs evaluated under another funnel version than the one it follows', () => {
    const older: JourneyFunnel = { version: 1, stages: PAYMENTS.stages };
    const { effects, stage } = run([proved(PAYMENTS, 'signed_up', 'e1', at(1)), proved(older, 'live_payment', 'p9', at(2))], fresh());
    expect(stage).toBe('signed_up');
    expect(effects.filter((e) => e.type === 'recordStage').map((e) => e.stage)).toEqual(['signed_up']);
  });

  it('ignores a stage its funnel version does not have', () => {
    const { effects, stage } = run([proved(PAYMENTS, 'signed_up', 'e1', at(1)), { ...proved(PAYMENTS, 'no_such_stage', 'x1', at(2)) }], fresh());
    expect(stage).toBe('signed_up');
    expect(effects.filter((e) => e.type === 'recordStage')).toHaveLength(1);
  });

  it('a journey from before funnel versions keeps its stages when it adopts the shipped funnel, recorded again under it', () => {
    const legacy = run([signup('e1', at(1)), key('e2', at(1, 1))], startJourney({ developerId: 'dev_1' }));
    expect(legacy.stage).toBe('credential_provisioned');
    // Persisted by a run of the old code: the funnel region named the stage.
    const persisted = { ...persistJourney(legacy.snapshot), value: { funnel: 'credential_provisioned', nudging: {}, handoff: {} } };
    const shipped: JourneyFunnel = { version: 1, stages: SHIPPED_STAGES };
    const { snapshot, effects, stage } = run([proved(shipped, 'first_api_call', 'r1', at(2))], restoreJourney(persisted));
    expect(snapshot.context.funnel).toEqual(shipped);
    expect(stage).toBe('first_api_call');
    expect(effects.filter((e) => e.type === 'recordStage').map((e) => [e.stage, e.funnelVersion])).toEqual([
      ['account_created', 1],
      ['credential_provisioned', 1],
      ['first_api_call', 1],
    ]);
    // From now on the events themselves prove nothing: a later key is no evidence.
    expect(run([key('e3', at(0))], snapshot).effects.filter((e) => e.type === 'recordStage')).toEqual([]);
  });

  it('a journey from before funnel versions adopting a different funnel keeps only the stages it has', () => {
    const legacy = run([signup('e1', at(1)), key('e2', at(1, 1))], startJourney({ developerId: 'dev_1' }));
    const other: JourneyFunnel = { version: 2, stages: ['account_created', 'paid'] };
    const { snapshot, stage } = run([proved(other, 'paid', 'p1', at(3))], legacy.snapshot);
    expect(Object.keys(snapshot.context.evidence).sort()).toEqual(['account_created', 'paid']);
    expect(stage).toBe('paid');
  });

  describe('a funnel change (funnel.changed)', () => {
    const V3: JourneyFunnel = { version: 3, stages: ['signed_up', 'sandbox_payment', 'live_payment'] };
    const changed = (funnel: JourneyFunnel, evidence: Record<string, { occurredAt: string; eventId: string }>): JourneyEvent => ({
      id: `funnel:v${funnel.version}`,
      type: 'funnel.changed',
      occurredAt: at(20),
      funnel,
      evidence,
    });
    const followingV2 = () => run([proved(PAYMENTS, 'signed_up', 'e1', at(1)), proved(PAYMENTS, 'first_call', 'r1', at(2))], fresh()).snapshot;

    it('follows the new version with its recomputed evidence: rows, where it stands, the transitions in event time, under it', () => {
      const { snapshot, effects, stage } = run(
        [changed(V3, { live_payment: { occurredAt: at(5), eventId: 'p2' }, signed_up: { occurredAt: at(1), eventId: 'e1' } })],
        followingV2(),
      );
      expect(snapshot.context.funnel).toEqual(V3);
      expect(stage).toBe('live_payment');
      expect(effects.filter((e) => e.type === 'recordStage').map((e) => [e.stage, e.funnelVersion])).toEqual([
        ['signed_up', 3],
        ['live_payment', 3],
      ]);
      expect(effects.filter((e) => e.type === 'recordTransition').map((e) => [e.from, e.to, e.funnelVersion])).toEqual([
        [null, 'signed_up', 3],
        ['signed_up', 'live_payment', 3],
      ]);
      expect(effects.filter((e) => e.type === 'recordCurrentStage')).toEqual([
        { type: 'recordCurrentStage', developerId: 'dev_1', funnelVersion: 3, stage: 'live_payment', rank: 2, at: at(5) },
      ]);
      // Stages re-dated to the past: the next decision treats what was due as the past.
      expect(snapshot.context.backfillPending).toBe(true);
    });

    it('keeps proofs of the new version heard before the change, and applies them with it', () => {
      const early = run([proved(V3, 'sandbox_payment', 'p1', at(4))], followingV2());
      expect(early.effects).toEqual([]);
      const { stage, snapshot } = run([changed(V3, { signed_up: { occurredAt: at(1), eventId: 'e1' } })], early.snapshot);
      expect(stage).toBe('sandbox_payment');
      expect(snapshot.context.evidence.sandbox_payment).toEqual({ occurredAt: at(4), eventId: 'p1' });
      expect(snapshot.context.pendingProofs).toBeUndefined();
    });

    it('ignores a change to a version no newer than the one it follows', () => {
      const { effects, snapshot } = run([changed({ ...V3, version: 2 }, {})], followingV2());
      expect(effects).toEqual([]);
      expect(snapshot.context.funnel).toEqual(PAYMENTS);
    });

    it('a change that leaves no stage reached says so to the read model', () => {
      const { effects, stage } = run([changed(V3, {})], followingV2());
      expect(stage).toBeNull();
      expect(effects).toEqual([{ type: 'recordCurrentStage', developerId: 'dev_1', funnelVersion: 3, stage: null, rank: -1, at: null }]);
    });
  });
});
