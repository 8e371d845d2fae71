import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MACHINE_VERSION } from '../../src/journey/journey-versions.ts';
import { NativeConnection } from '@temporalio/worker';
import { createJourneyWorker } from '../../src/assembly/journey-worker.ts';
import { funnelInForceCache } from '../../src/funnel/funnel-in-force-cache.ts';
import { findTemporalCli } from '../../src/temporal/binaries.ts';
import { assertSearchAttributesRegistered, searchAttributeCreateCommands } from '../../src/temporal/search-attributes.ts';
import { journeyWorkflowId } from '../../workflows/journey-messages.ts';
import { eventually } from '../support/eventually.ts';
import { ADMIN_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { testHandoffDeps } from '../support/handoff-deps.ts';
import { testNudgeDeps } from '../support/nudge-deps.ts';
import { journeyWorkflowBundle } from '../support/workflow-bundle.ts';
import { signupWithKey, type SignupProfile } from '../support/signup-events.ts';
import { databaseBackends } from '../support/test-databases.ts';

const run = promisify(execFile);

// The attributes live in Temporal, whatever Onramp's database: one backend is enough.
describe.each(databaseBackends().slice(0, 1))('operators find journeys in Temporal by their search attributes (%s)', (backend) => {
  let h: OnrampHarness;
  const tag = randomUUID().slice(0, 8);
  const dev = (name: string) => `sa_${tag}_${name}`;

  beforeAll(async () => {
    h = await new OnrampHarness(backend).start();
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  const now = () => new Date().toISOString();
  const signedUp = (id: string, profile: SignupProfile) => signupWithKey(id, now(), { ...profile, email: `${id}@example.com` });
  const firstCall = (id: string) => ({
    id: `${id}-r1`,
    type: 'api.request',
    occurredAt: now(),
    properties: { apiKey: `key_${id}`, endpoint: '/v1/charges', method: 'POST', status: 200, mode: 'test' },
  });
  const ticket = (id: string) => ({ id: `${id}-t`, type: 'support.ticket_created', developerId: id, occurredAt: now(), properties: { subject: `${id} cannot call /v1/charges` } });
  const post = async (events: unknown[]) => {
    const posted = await h.post({ events });
    expect(posted.statusCode, posted.body).toBe(202);
  };
  const caseOf = (id: string) =>
    h.app.inject({ method: 'GET', url: `/v1/handoffs/${encodeURIComponent(`${id}/h1`)}`, headers: { authorization: `Bearer ${ADMIN_KEY}` } }).then((r) => r.json());

  /** The developers whose journeys `query` finds (visibility lags the workflow: polled until it says `expected`). */
  const found = (query: string, expected: string[]) =>
    eventually(
      async () => {
        const ids: string[] = [];
        for await (const execution of h.temporal.workflow.list({ query: `${query} AND WorkflowId STARTS_WITH "onboarding/sa_${tag}_"` }))
          ids.push(execution.workflowId.slice('onboarding/'.length));
        return ids.sort();
      },
      { until: (ids) => JSON.stringify(ids) === JSON.stringify([...expected].sort()), timeout: 20_000, describe: `${query} finds ${expected.join(', ')}` },
    );

  it('filters by stage, escalation, open case, channel and account type; the memo names versions and the case, no contact data', async () => {
    const [stuck, calling, ticketing] = [dev('stuck'), dev('calling'), dev('ticketing')];
    await post([...signedUp(stuck, { accountType: 'organization', acquisitionChannel: 'paid' }), firstCall(stuck), ticket(stuck)]);
    await post([...signedUp(calling, { accountType: 'individual', acquisitionChannel: 'paid' }), firstCall(calling)]);
    await post([...signedUp(ticketing, { accountType: 'individual', acquisitionChannel: 'organic_search' }), ticket(ticketing)]);
    for (const id of [stuck, ticketing]) await eventually(() => caseOf(id), { until: (c) => c.status === 'open', describe: `the case of ${id} open` });
    await h.waitForIdle(calling);

    expect(await found('OnrampStage = "first_api_call" AND OnrampEscalated = true', [stuck])).toEqual([stuck]);
    await found('OnrampStage = "first_api_call" AND OnrampEscalated = false', [calling]);
    await found('OnrampOpenCase = true', [stuck, ticketing]);
    await found('OnrampStage = "credential_provisioned"', [ticketing]);
    await found('OnrampChannel = "paid" AND OnrampAccountType = "organization"', [stuck]);

    const description = await h.temporal.workflow.getHandle(journeyWorkflowId(stuck)).describe();
    expect(description.searchAttributes).toMatchObject({
      OnrampStage: ['first_api_call'],
      OnrampEscalated: [true],
      OnrampOpenCase: [true],
      OnrampChannel: ['paid'],
      OnrampAccountType: ['organization'],
    });
    const memo = await description.memo;
    expect(memo).toEqual({ developerId: stuck, machineVersion: MACHINE_VERSION, funnelVersion: 1, openCaseId: `${stuck}/h1`, casesOpened: 1 });
    const onramp = Object.entries(description.searchAttributes).filter(([name]) => name.startsWith('Onramp'));
    expect(JSON.stringify([memo, onramp])).not.toMatch(/@|example\.com|cannot call/);

    // Resolved: no case open any more, but it was escalated; the memo no longer names a case.
    const resolved = await h.app.inject({
      method: 'POST',
      url: `/v1/handoffs/${encodeURIComponent(`${stuck}/h1`)}/actions`,
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { action: 'resolve', actor: 'lead@example.com', outcome: 'unblocked' },
    });
    expect(resolved.statusCode, resolved.body).toBe(200);
    await found('OnrampOpenCase = true', [ticketing]);
    await found('OnrampEscalated = true AND OnrampOpenCase = false', [stuck]);
    const after = await h.temporal.workflow.getHandle(journeyWorkflowId(stuck)).describe();
    expect(await after.memo).toEqual({ developerId: stuck, machineVersion: MACHINE_VERSION, funnelVersion: 1, casesOpened: 1 });
  }, 90_000);

  it('a worker refuses a namespace without them, naming them and the commands that register them; those commands do', async () => {
    const namespace = `bare-${tag}`;
    await h.temporal.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    const operator = h.temporal.connection.operatorService;
    const refusal = await eventually(
      () =>
        assertSearchAttributesRegistered(operator, namespace).then(
          () => 'accepted',
          (error: Error) => error.message,
        ),
      {
        until: (message) => message !== 'accepted' && !/not found/i.test(message),
        describe: `namespace ${namespace} served and refused`,
      },
    );
    for (const name of ['OnrampStage', 'OnrampEscalated', 'OnrampOpenCase', 'OnrampChannel', 'OnrampAccountType']) expect(refusal).toContain(name);
    expect(refusal).toContain('temporal operator search-attribute create');

    const { address } = (h.temporal.connection as Connection).options;
    const connection = await NativeConnection.connect({ address });
    try {
      const worker = createJourneyWorker({
        connection,
        namespace,
        pool: h.db.pool,
        funnelInForce: funnelInForceCache(h.db.pool),
        nudges: testNudgeDeps(h.db.pool),
        handoffs: testHandoffDeps(h.db.pool),
        workflowBundle: journeyWorkflowBundle(),
      });
      await expect(worker).rejects.toThrow(`Temporal namespace ${namespace} lacks the journeys' search attributes`);
    } finally {
      await connection.close();
    }

    for (const command of searchAttributeCreateCommands(namespace)) {
      const [, ...args] = command.split(' '); // after `temporal`
      await run(findTemporalCli()!, [...args, '--address', address]);
    }
    await eventually(() => assertSearchAttributesRegistered(operator, namespace), { describe: `the search attributes registered on ${namespace}` });
  }, 60_000);
});
