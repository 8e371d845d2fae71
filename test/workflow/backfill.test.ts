import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import type { JourneyEvent } from '../../src/journey/journey-event.ts';
import { eventually } from '../support/eventually.ts';
import { immediateRules, SHIPPED_POLICY, startJourneySandbox, type JourneySandbox } from '../support/journey-sandbox.ts';
import { databaseBackends } from '../support/test-databases.ts';

/** Backfilled (imported) histories in the real workflow and activities, under the time-skipping server. */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const taskQueue = 'backfill-test';

let sandbox: JourneySandbox;
let env: TestWorkflowEnvironment;
let db: Database;

let developers = 0;
async function developer(): Promise<string> {
  const id = `dev_backfill_${developers++}`;
  await db.pool.query(`INSERT INTO developers (id, email, account_type, acquisition_channel, timezone) VALUES ($1, $2, 'individual', 'paid', 'UTC')`, [id, `${id}@example.com`]);
  return id;
}

const signal = (developerId: string, events: JourneyEvent[]) => sandbox.signal(developerId, events);

const iso = (ms: number) => new Date(ms).toISOString();
/** Signed up an hour before the key; imported (a backfill) or live. */
const history = (id: string, keyAt: number, imported: boolean): JourneyEvent[] => [
  {
    id: `${id}-signup`,
    type: 'developer.signed_up',
    occurredAt: iso(keyAt - HOUR),
    properties: { accountType: 'individual', acquisitionChannel: 'paid', timezone: 'UTC' },
    ...(imported ? { imported: true as const } : {}),
  },
  { id: `${id}-key`, type: 'api_key.created', occurredAt: iso(keyAt), properties: { mode: 'test' }, ...(imported ? { imported: true as const } : {}) },
];

async function decisions(developerId: string) {
  const { rows } = await db.pool.query<{ rule_id: string; outcome: string; reason: string | null }>(
    'SELECT rule_id, outcome, reason FROM nudge_decisions WHERE developer_id = $1 ORDER BY id',
    [developerId],
  );
  return rows.map((r) => [r.rule_id, r.outcome, r.reason]);
}
const emails = async (developerId: string) => (await db.pool.query('SELECT id FROM emails WHERE developer_id = $1', [developerId])).rows.length;
const cases = async (developerId: string) =>
  (await db.pool.query<{ criterion: string }>('SELECT criterion FROM handoffs WHERE developer_id = $1', [developerId])).rows.map((r) => r.criterion);

describe.each(databaseBackends())('backfill: imported history in the workflow (time-skipping server, %s)', (backend) => {
  beforeAll(async () => {
    sandbox = await startJourneySandbox({ backend, taskQueue, rules: immediateRules(), policy: SHIPPED_POLICY });
    ({ env, db } = sandbox);
  }, 120_000);

  afterAll(async () => {
    await sandbox?.close();
  });

  it('a developer whose imported history stalled 10 days ago: no email, no case; nudges skipped (backfill), now and later', async () => {
    const id = await developer();
    const now = await env.currentTimeMs();
    await signal(id, history(id, now - 10 * DAY, true));
    await env.sleep('1 second');
    expect(await eventually(() => decisions(id), { until: (d) => d.length >= 2, describe: `two nudge decisions for ${id}` })).toEqual([
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
    expect(await eventually(() => decisions(id), { until: (d) => d.length >= 1, describe: `a nudge decision for ${id}` })).toEqual([['first-call-help', 'skipped', 'backfill']]);
    await env.sleep(keyAt + 72 * HOUR - (await env.currentTimeMs()) - 60_000);
    expect(await emails(id)).toBe(0);
    await env.sleep(2 * 60_000);
    expect(await eventually(() => emails(id), { until: (n) => n === 1, describe: `an email to ${id}` })).toBe(1);
    expect((await decisions(id)).at(-1)).toEqual(['first-call-second-nudge', 'sent', null]);
    await env.sleep(keyAt + 7 * DAY + 60_000 - (await env.currentTimeMs()));
    expect(await eventually(() => cases(id), { until: (c) => c.length === 1, describe: `a case for ${id}` })).toEqual(['stall:no-first-call']);
  });

  it('a live event after the import behaves as live: a support ticket opens a case', async () => {
    const id = await developer();
    const now = await env.currentTimeMs();
    await signal(id, history(id, now - 10 * DAY, true));
    await env.sleep('1 second');
    await eventually(() => decisions(id), { until: (d) => d.length >= 2, describe: `two nudge decisions for ${id}` });
    expect(await cases(id)).toEqual([]);
    await signal(id, [{ id: `${id}-ticket`, type: 'support.ticket_created', occurredAt: iso(await env.currentTimeMs()) }]);
    await env.sleep('1 second');
    expect(await eventually(() => cases(id), { until: (c) => c.length === 1, describe: `a case for ${id}` })).toEqual(['support_ticket']);
  });
});
