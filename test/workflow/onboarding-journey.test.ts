import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JourneyEffect } from '../../src/journey/journey-effects.ts';
import type { JourneyEvent } from '../../src/journey/journey-event.ts';
import { journeyEventsSignal, journeyStateQuery, journeyWorkflowId } from '../../workflows/journey-messages.ts';
import { onboardingJourney, type OnboardingJourneyInput } from '../../workflows/onboarding-journey.ts';
import { eventually } from '../support/eventually.ts';
import { asIngestSends } from '../support/ingest-signals.ts';
import { createTimeSkippingEnv } from '../support/time-skipping-env.ts';
import { journeyWorkflowBundle } from '../support/workflow-bundle.ts';

const at = (day: number, hour = 0) => new Date(Date.UTC(2026, 10, day, hour)).toISOString();
const signup: JourneyEvent = { id: 'e1', type: 'developer.signed_up', occurredAt: at(1), properties: { accountType: 'individual' } };
const key: JourneyEvent = { id: 'e2', type: 'api_key.created', occurredAt: at(1, 2), properties: { mode: 'test' } };
const firstCall: JourneyEvent = { id: 'r1#first_api_call', type: 'api.milestone', stage: 'first_api_call', occurredAt: at(1, 3), causeEventId: 'r1' };
const live: JourneyEvent = { id: 'r2#production_deployment', type: 'api.milestone', stage: 'production_deployment', occurredAt: at(5), causeEventId: 'r2' };

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const recorded: JourneyEffect[][] = [];
const taskQueue = 'journey-test';

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: journeyWorkflowBundle(),
    // Records what the workflow asks for; the real DB activity has its own integration test.
    activities: {
      async recordJourneyEffects(effects: JourneyEffect[]) {
        recorded.push(effects);
      },
      // No rules version: the journeys here make no nudge or handoff decisions (nudges.test.ts and
      // handoff.test.ts have those).
      async currentNudgeRules() {
        return null;
      },
      async currentJourneyPolicies() {
        return { rules: null, policy: null };
      },
      async recordNudgeDecisions() {},
      async sendNudge() {},
      async recordHandoffSteps() {},
      async notifySlack() {},
    },
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

async function send(developerId: string, events: JourneyEvent[], input: Partial<OnboardingJourneyInput> = {}) {
  return env.client.workflow.signalWithStart(onboardingJourney, {
    workflowId: journeyWorkflowId(developerId),
    taskQueue,
    args: [{ developerId, ...input }],
    signal: journeyEventsSignal,
    signalArgs: [asIngestSends(events)],
  });
}

const effectsFor = (developerId: string) => recorded.flat().filter((e) => e.developerId === developerId);

/** The journey applied `eventsApplied` events and no activity is pending: every effect it asked for is recorded. */
async function settle(developerId: string, eventsApplied: number) {
  const handle = env.client.workflow.getHandle(journeyWorkflowId(developerId));
  const state = await eventually(() => handle.query(journeyStateQuery), {
    until: (s) => s.eventsApplied >= eventsApplied,
    describe: `journey ${developerId} applied ${eventsApplied} events`,
  });
  await eventually(async () => (await handle.describe()).raw.pendingActivities ?? [], {
    until: (pending) => pending.length === 0,
    describe: `journey ${developerId} has no activity pending`,
  });
  return state;
}

describe('onboarding journey workflow (time-skipping server)', () => {
  it('moves through stages from signals and records each transition through the activity', async () => {
    await send('dev_a', [signup]);
    await send('dev_a', [key, firstCall]);
    const state = await settle('dev_a', 3);
    expect(state.stage).toBe('first_api_call');
    expect(state.stages.filter((s) => s.status === 'reached').map((s) => s.stage)).toEqual(['account_created', 'credential_provisioned', 'first_api_call']);
    const transitions = effectsFor('dev_a').filter((e) => e.type === 'recordTransition');
    expect(transitions.map((t) => t.type === 'recordTransition' && `${t.from}->${t.to}`)).toEqual([
      'null->account_created',
      'account_created->credential_provisioned',
      'credential_provisioned->first_api_call',
    ]);
  });

  it('ignores event ids it has seen: a redelivered batch records nothing twice', async () => {
    await send('dev_b', [signup, key]); // and their two stage.proved
    await settle('dev_b', 4);
    const before = effectsFor('dev_b').length;
    expect(before).toBe(6); // 2 stages, 2 transitions, where it stands after each
    await send('dev_b', [signup, key]);
    await send('dev_b', [live]);
    const state = await settle('dev_b', 5);
    expect(state.eventsApplied).toBe(5);
    const after = effectsFor('dev_b');
    // Only the live milestone's stage, where it stands and the transition were added.
    expect(after.slice(before).map((e) => e.type)).toEqual(['recordStage', 'recordCurrentStage', 'recordTransition']);
  });

  it('continues as new carrying the journey and the seen ids: nothing lost, nothing repeated', async () => {
    const handle = await send('dev_c', [signup, key], { maxEventsPerRun: 2 });
    const firstRun = (await handle.describe()).runId;
    await send('dev_c', [firstCall]);
    const state = await settle('dev_c', 3);
    const description = await env.client.workflow.getHandle(journeyWorkflowId('dev_c')).describe();
    expect(description.runId).not.toBe(firstRun);
    expect(state.stage).toBe('first_api_call');
    expect(state.stages.find((s) => s.stage === 'account_created')).toMatchObject({ status: 'reached', causeEventId: 'e1' });
    // 3 stages, 3 transitions, 3 standings; the new run may record carried ones again (the activity is idempotent).
    const count = effectsFor('dev_c').length;
    expect(count).toBeGreaterThanOrEqual(9);
    await send('dev_c', [signup, key, live]);
    const final = await settle('dev_c', 4);
    expect(final.stage).toBe('production_deployment');
    expect(effectsFor('dev_c').length - count).toBe(3);
  });
});
