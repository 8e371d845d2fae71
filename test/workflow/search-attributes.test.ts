import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MACHINE_VERSION } from '../../src/journey/journey-versions.ts';
import type { JourneyEvent } from '../../src/journey/journey-event.ts';
import { journeyEventsSignal, journeyStateQuery, journeyWorkflowId } from '../../workflows/journey-messages.ts';
import { onboardingJourney, type OnboardingJourneyInput } from '../../workflows/onboarding-journey.ts';
import { JOURNEY_START_SEARCH_ATTRIBUTES } from '../../workflows/journey-search-attributes.ts';
import { eventually } from '../support/eventually.ts';
import { asIngestSends } from '../support/ingest-signals.ts';
import { createTimeSkippingEnv } from '../support/time-skipping-env.ts';
import { journeyWorkflowBundle } from '../support/workflow-bundle.ts';

const at = (day: number, hour = 0) => new Date(Date.UTC(2026, 10, day, hour)).toISOString();
const signup: JourneyEvent = {
  id: 'e1',
  type: 'developer.signed_up',
  occurredAt: at(1),
  properties: { accountType: 'organization', acquisitionChannel: 'paid', timezone: 'Europe/Paris' },
};
const key: JourneyEvent = { id: 'e2', type: 'api_key.created', occurredAt: at(1, 2), properties: { mode: 'test' } };
const consent: JourneyEvent = { id: 'e3', type: 'consent.updated', occurredAt: at(1, 3), properties: { emailConsent: 'revoked' } };
const firstCall: JourneyEvent = { id: 'r1#first_api_call', type: 'api.milestone', stage: 'first_api_call', occurredAt: at(1, 4), causeEventId: 'r1' };

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const taskQueue = 'search-attributes-test';

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: journeyWorkflowBundle(),
    // No rules or policy: these journeys decide nothing (the dev-server test escalates them).
    activities: {
      async recordJourneyEffects() {},
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

/** Signals as feedJourney does: the start attributes with the first batch. */
async function send(developerId: string, events: JourneyEvent[], input: Partial<OnboardingJourneyInput> = {}) {
  return env.client.workflow.signalWithStart(onboardingJourney, {
    workflowId: journeyWorkflowId(developerId),
    taskQueue,
    args: [{ developerId, ...input }],
    signal: journeyEventsSignal,
    signalArgs: [asIngestSends(events)],
    typedSearchAttributes: JOURNEY_START_SEARCH_ATTRIBUTES,
  });
}

async function settle(developerId: string, eventsApplied: number) {
  const handle = env.client.workflow.getHandle(journeyWorkflowId(developerId));
  await eventually(() => handle.query(journeyStateQuery), { until: (s) => s.eventsApplied >= eventsApplied, describe: `journey ${developerId} applied ${eventsApplied} events` });
  return handle;
}

/** The run `runId` continued as new, if any (from its start event). */
async function continuedRun(workflowId: string, runId: string): Promise<string | undefined> {
  const [start] = (await env.client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
  return start?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
}

/** The journey's own upserts, in order, across its runs (the SDK's patch bookkeeping left out). */
async function upserts(developerId: string): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  const handle = env.client.workflow.getHandle(journeyWorkflowId(developerId));
  let runId: string | undefined = (await handle.describe()).runId;
  const runs: string[] = [];
  while (runId) {
    runs.unshift(runId);
    runId = await continuedRun(handle.workflowId, runId);
  }
  for (const run of runs) {
    const history = await env.client.workflow.getHandle(handle.workflowId, run).fetchHistory();
    for (const event of history.events ?? []) {
      const fields = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
      if (!fields || 'TemporalChangeVersion' in fields) continue;
      found.push(Object.fromEntries(Object.entries(fields).map(([name, payload]) => [name, defaultPayloadConverter.fromPayload(payload)])));
    }
  }
  return found;
}

describe('journey search attributes (time-skipping server)', () => {
  it('upserts only what changed, and only when it changed: not once per event', async () => {
    await send('sa_a', [signup]);
    await settle('sa_a', 2);
    await send('sa_a', [key]);
    await settle('sa_a', 4);
    await send('sa_a', [consent]); // changes no attribute
    await settle('sa_a', 5);
    await send('sa_a', [signup, key]); // seen already
    await send('sa_a', [firstCall]);
    const handle = await settle('sa_a', 6);
    // The loop publishes once the batch's effects are recorded.
    await eventually(() => handle.describe(), { until: (d) => d.searchAttributes.OnrampStage?.[0] === 'first_api_call', describe: 'sa_a at first_api_call' });
    expect(await upserts('sa_a')).toEqual([
      { OnrampStage: 'account_created', OnrampChannel: 'paid', OnrampAccountType: 'organization' },
      { OnrampStage: 'credential_provisioned' },
      { OnrampStage: 'first_api_call' },
    ]);
    const { searchAttributes, memo } = await handle.describe();
    expect(searchAttributes).toMatchObject({
      OnrampStage: ['first_api_call'],
      OnrampEscalated: [false],
      OnrampOpenCase: [false],
      OnrampChannel: ['paid'],
      OnrampAccountType: ['organization'],
    });
    expect(await memo).toEqual({ developerId: 'sa_a', machineVersion: MACHINE_VERSION, funnelVersion: 1, casesOpened: 0 });
  });

  it('a run continued as new starts from the attributes it carries: it upserts nothing it already has', async () => {
    const firstRun = (await (await send('sa_b', [signup, key], { maxEventsPerRun: 2 })).describe()).runId;
    await send('sa_b', [firstCall]);
    const handle = await settle('sa_b', 5);
    const described = await eventually(() => handle.describe(), { until: (d) => d.searchAttributes.OnrampStage?.[0] === 'first_api_call', describe: 'sa_b at first_api_call' });
    expect(described.runId).not.toBe(firstRun);
    const stages = (await upserts('sa_b')).map((u) => u.OnrampStage).filter(Boolean);
    // account_created and credential_provisioned in the first run, first_api_call in a later one: each once.
    expect(new Set(stages).size).toBe(stages.length);
    expect(stages.at(-1)).toBe('first_api_call');
  });
});
