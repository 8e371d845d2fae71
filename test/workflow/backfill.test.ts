import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../src/db/migrate.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import type { JourneyEvent } from '../../src/journey/journey-event.ts';
import { EscalationPolicyStore } from '../../src/rules/escalation-policy-store.ts';
import { RuleStore } from '../../src/rules/rule-store.ts';
import { createJourneyWorker } from '../../src/temporal/journey-worker.ts';
import { journeyEventsSignal, journeyWorkflowId } from '../../workflows/journey-messages.ts';
import { onboardingJourney } from '../../workflows/onboarding-journey.ts';
import { testHandoffDeps } from '../support/handoff-deps.ts';
import { testNudgeDeps } from '../support/nudge-deps.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-databases.ts';
import { createTimeSkippingEnv } from '../support/time-skipping-env.ts';
import { journeyWorkflowBundle } from '../support/workflow-bundle.ts';

/** Backfilled (imported) histories in the real workflow and activities, under the time-skipping server. */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const taskQueue = 'backfill-test';
const shippedRules = readFileSync(fileURLToPath(new URL('../../config/rules.yaml', import.meta.url)), 'utf8');
const shippedPolicy = readFileSync(fileURLToPath(new URL('../../config/escalation.yaml', import.meta.url)), 'utf8');

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let db: Database;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  database = await createTestDatabase('pglite');
  await applyMigrations(database.url);
  db = openDatabase(database.url, { max: database.maxConnections });
  const rules = parse(shippedRules);
  rules.policy = { ...rules.policy, holdoutPercent: 0, quietHours: { start: '00:00', end: '00:00' } };
  const applied = await new RuleStore(db.pool).apply({ source: stringify(rules), author: 'test', reason: 'backfill tests' });
  if (!applied.ok) throw new Error(JSON.stringify(applied.errors));
  const policy = await new EscalationPolicyStore(db.pool).apply({ source: shippedPolicy, author: 'test', reason: 'shipped policy' });
  if (!policy.ok) throw new Error(JSON.stringify(policy.errors));
  worker = await createJourneyWorker({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    pool: db.pool,
    nudges: testNudgeDeps(db.pool),
    handoffs: testHandoffDeps(db.pool),
    workflowBundle: await journeyWorkflowBundle(),
  });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await db?.close();
  await database?.drop();
});

let developers = 0;
async function developer(): Promise<string> {
  const id = `dev_backfill_${developers++}`;
  await db.pool.query(`INSERT INTO developers (id, email, account_type, acquisition_channel, timezone) VALUES ($1, $2, 'individual', 'paid', 'UTC')`, [id, `${id}@example.com`]);
  return id;
}

async function signal(developerId: string, events: JourneyEvent[]) {
  await env.client.workflow.signalWithStart(onboardingJourney, { workflowId: journeyWorkflowId(developerId), taskQueue, args: [{ developerId }], signal: journeyEventsSignal, signalArgs: [events] });
}

const iso = (ms: number) => new Date(ms).toISOString();
/** Signed up an hour before the key; imported (a backfill) or live. */
const history = (id: string, keyAt: number, imported: boolean): JourneyEvent[] => [
  { id: `${id}-signup`, type: 'developer.signed_up', occurredAt: iso(keyAt - HOUR), properties: { accountType: 'individual', acquisitionChannel: 'paid', timezone: 'UTC' }, ...(imported ? { imported: true as const } : {}) },
  { id: `${id}-key`, type: 'api_key.created', occurredAt: iso(keyAt), properties: { mode: 'test' }, ...(imported ? { imported: true as const } : {}) },
];

async function decisions(developerId: string) {
  const { rows } = await db.pool.query<{ rule_id: string; outcome: string; reason: string | null }>('SELECT rule_id, outcome, reason FROM nudge_decisions WHERE developer_id = $1 ORDER BY id', [developerId]);
  return rows.map((r) => [r.rule_id, r.outcome, r.reason]);
}
const emails = async (developerId: string) => (await db.pool.query('SELECT id FROM emails WHERE developer_id = $1', [developerId])).rows.length;
const cases = async (developerId: string) => (await db.pool.query<{ criterion: string }>('SELECT criterion FROM handoffs WHERE developer_id = $1', [developerId])).rows.map((r) => r.criterion);

/** Real-time wait for rows the workflow's activities write. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 200 && !done(value); i++) {
    await new Promise((r) => setTimeout(r, 25));
    value = await read();
  }
  return value;
}

describe('backfill: imported history in the workflow (time-skipping server)', () => {
  it('a developer whose imported history stalled 10 days ago: no email, no case; nudges skipped (backfill), now and later', async () => {
    const id = await developer();
    const now = await env.currentTimeMs();
    await signal(id, history(id, now - 10 * DAY, true));
    await env.sleep('1 second');
    expect(await eventually(() => decisions(id), (d) => d.length >= 2)).toEqual([
      ['first-call-help', 'skipped', 'backfill'],
      ['first-call-second-nudge', 'skipped', 'backfill'],
    ]);
    await env.sleep(10 * DAY); // every later stall threshold (not active 14 d, …) stays unreached without a first call
    expect(await emails(id)).toBe(0);
    expect(await cases(id)).toEqual([]);
    expect(await decisions(id)).toHaveLength(2);
  });

  it('imported 30 hours into a stage: the 72 h nudge is still sent at 72 h, and the 7-day stall escalates live', async () => {
    const id = await developer();
    const now = await env.currentTimeMs();
    const keyAt = now - 30 * HOUR;
    await signal(id, history(id, keyAt, true));
    await env.sleep('1 second');
    expect(await eventually(() => decisions(id), (d) => d.length >= 1)).toEqual([['first-call-help', 'skipped', 'backfill']]);
    await env.sleep(keyAt + 72 * HOUR - (await env.currentTimeMs()) - 60_000);
    expect(await emails(id)).toBe(0);
    await env.sleep(2 * 60_000);
    expect(await eventually(() => emails(id), (n) => n === 1)).toBe(1);
    expect((await decisions(id)).at(-1)).toEqual(['first-call-second-nudge', 'sent', null]);
    await env.sleep(keyAt + 7 * DAY + 60_000 - (await env.currentTimeMs()));
    expect(await eventually(() => cases(id), (c) => c.length === 1)).toEqual(['stall:no-first-call']);
  });

  it('a live event after the import behaves as live: a support ticket opens a case', async () => {
    const id = await developer();
    const now = await env.currentTimeMs();
    await signal(id, history(id, now - 10 * DAY, true));
    await env.sleep('1 second');
    await eventually(() => decisions(id), (d) => d.length >= 2);
    expect(await cases(id)).toEqual([]);
    await signal(id, [{ id: `${id}-ticket`, type: 'support.ticket_created', occurredAt: iso(await env.currentTimeMs()) }]);
    await env.sleep('1 second');
    expect(await eventually(() => cases(id), (c) => c.length === 1)).toEqual(['support_ticket']);
  });
});
