import type { Client } from '@temporalio/client';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { PrismaClient } from '../../src/generated/prisma/client.ts';
import { OutboxDispatcher } from '../../src/ingest/outbox-dispatcher.ts';

/**
 * When the dispatcher asks the journeys' task queue how many workflow tasks wait (the outbox's
 * pacing): before its first round, after a round that signalled 50 journeys or more, and while the
 * queue was full; never after the small rounds of live traffic. A stub outbox and a stub Temporal
 * client: the SQL and the server's answer are the integration test's (outbox-dispatcher.test.ts).
 */
function stubs(developersPerRound: number) {
  const state = { backlog: 0, asked: 0, signalled: 0, claims: 0, pending: developersPerRound * 100 };
  let nextId = 1n;
  const prisma = {
    async $queryRawUnsafe() {
      state.claims++;
      const n = Math.min(developersPerRound, state.pending);
      state.pending -= n;
      return Array.from({ length: n }, (_, i) => ({ id: nextId++, developer_id: `dev_${state.claims}_${i}`, payload: { id: `e${nextId}` }, attempts: 1 }));
    },
    async $executeRawUnsafe() {
      return 0;
    },
  } as unknown as PrismaClient;
  const temporal = {
    options: { namespace: 'default' },
    connection: { withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn() },
    workflowService: {
      async describeTaskQueue() {
        state.asked++;
        return { stats: { approximateBacklogCount: state.backlog } };
      },
    },
    workflow: {
      async signalWithStart() {
        state.signalled++;
      },
    },
  } as unknown as Client;
  return { state, dispatcher: new OutboxDispatcher({ prisma, temporal, logger: pino({ level: 'silent' }), maxTaskBacklog: 200 }) };
}

describe("the outbox dispatcher's pacing", () => {
  it('asks before its first round, then never while rounds are small (live traffic), however full the queue', async () => {
    const { state, dispatcher } = stubs(3);
    expect(await dispatcher.deliverOnce()).toBe(3);
    expect(state.asked).toBe(1);
    state.backlog = 10_000; // not asked: small rounds add no round trip
    for (let i = 0; i < 5; i++) expect(await dispatcher.deliverOnce()).toBe(3);
    expect(state.asked).toBe(1);
    expect(dispatcher.pausedRounds).toBe(0);
  });

  it('after a large round asks first, claims nothing while the queue is full, and goes on once it is not', async () => {
    const { state, dispatcher } = stubs(60);
    expect(await dispatcher.deliverOnce()).toBe(60);
    state.backlog = 200;
    expect(await dispatcher.deliverOnce()).toBe(0);
    expect(await dispatcher.deliverOnce()).toBe(0); // within FULL_BACKOFF_MS: not asked again
    expect([state.asked, state.claims, dispatcher.pausedRounds]).toEqual([2, 1, 2]);
    await new Promise((r) => setTimeout(r, 550));
    state.backlog = 199;
    expect(await dispatcher.deliverOnce()).toBe(60);
    expect([state.asked, state.claims, state.signalled]).toEqual([3, 2, 120]);
  });

  it('asks nothing more while the outbox is empty (a poll a second costs no round trip to Temporal)', async () => {
    const { state, dispatcher } = stubs(0);
    for (let i = 0; i < 5; i++) expect(await dispatcher.deliverOnce()).toBe(0);
    expect([state.asked, state.claims]).toEqual([1, 5]);
  });

  it('goes on when the server reports no stats or cannot be asked', async () => {
    const { state, dispatcher } = stubs(60);
    (dispatcher as unknown as { options: { temporal: { workflowService: { describeTaskQueue(): Promise<unknown> } } } }).options.temporal.workflowService.describeTaskQueue =
      async () => {
        state.asked++;
        throw new Error('unavailable');
      };
    expect(await dispatcher.deliverOnce()).toBe(60);
    expect(await dispatcher.deliverOnce()).toBe(60);
    expect(state.asked).toBe(2);
  });

  it('with a limit of 0 never asks', async () => {
    const { state, dispatcher } = stubs(60);
    const { options } = dispatcher as unknown as { options: ConstructorParameters<typeof OutboxDispatcher>[0] };
    const unpaced = new OutboxDispatcher({ ...options, maxTaskBacklog: 0 });
    state.backlog = 10_000;
    expect(await unpaced.deliverOnce()).toBe(60);
    expect(await unpaced.deliverOnce()).toBe(60);
    expect(state.asked).toBe(0);
  });
});
