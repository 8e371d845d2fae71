import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { experimentDraw } from '../../src/journey/experiment-assignment.ts';
import type { JourneyEvent } from '../../src/journey/journey-event.ts';
import { eventually } from '../support/eventually.ts';
import { seedExperimentArms } from '../support/experiment-history.ts';
import { immediateRules, startJourneySandbox, type JourneySandbox } from '../support/journey-sandbox.ts';
import { databaseBackends } from '../support/test-databases.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

let developers = 0;
/** A developer (with an email address) whose draw for subject-test is in [low, high). */
async function developerDrawing(db: Database, low: number, high: number): Promise<string> {
  let id: string;
  do id = `dev_adaptive_${developers++}`;
  while (experimentDraw(id, 'subject-test') < low || experimentDraw(id, 'subject-test') >= high);
  await db.pool.query('INSERT INTO developers (id, email) VALUES ($1, $2)', [id, `${id}@example.com`]);
  return id;
}

const withKey = (id: string, at: number): JourneyEvent[] => [
  { id: `${id}-signup`, type: 'developer.signed_up', occurredAt: iso(at), properties: { accountType: 'individual', acquisitionChannel: 'organic_search', timezone: 'UTC' } },
  { id: `${id}-key`, type: 'api_key.created', occurredAt: iso(at), properties: { mode: 'test' } },
];

describe.each(databaseBackends())('adaptive experiments under the time-skipping server (%s)', (backend) => {
  let sandbox: JourneySandbox;
  let env: TestWorkflowEnvironment;
  let db: Database;

  beforeAll(async () => {
    // One rule, no holdout: an hour after the key, the experiment between a and b, adaptive with a floor of 0.1.
    const rules = immediateRules((doc) => {
      doc.rules = [
        {
          id: 'first-call-help',
          when: { stage: 'credential_provisioned', after: '1h' },
          action: {
            experiment: {
              id: 'subject-test',
              goal: 'first_api_call',
              window: '7d',
              variants: [
                { id: 'a', send: 'first-call-help' },
                { id: 'b', send: 'first-call-guided' },
              ],
              adaptive: { floor: 0.1, minPerVariant: 50 },
            },
          },
        },
      ];
    });
    sandbox = await startJourneySandbox({ backend, taskQueue: 'adaptive-experiments-test', rules });
    ({ env, db } = sandbox);
    // Twenty days ago (before the start of today's period, whose windows have closed): a converted 15 %, b 30 %.
    await seedExperimentArms(db.pool, {
      prefix: 'history',
      experimentId: 'subject-test',
      ruleId: 'first-call-help',
      ruleVersion: 1,
      goal: 'first_api_call',
      assignedAt: Date.now() - 20 * DAY,
      arms: [
        { variant: 'a', n: 100, converted: 15 },
        { variant: 'b', n: 100, converted: 30 },
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await sandbox?.close();
  });

  const variantsOf = async (ids: string[]) =>
    (
      await db.pool.query<{ developer_id: string; variant_id: string; outcome: string }>(
        'SELECT developer_id, variant_id, outcome FROM nudge_decisions WHERE developer_id = ANY($1) ORDER BY developer_id',
        [ids],
      )
    ).rows;

  it('draws new developers with the weights the data supports (b 0.9, a its floor 0.1), recorded with their reason', async () => {
    // Draws in [0.1, 0.5): a under the document's even weights, b under 0.1 / 0.9. Below 0.1: a either way.
    const movedToB = [await developerDrawing(db, 0.1, 0.5), await developerDrawing(db, 0.1, 0.5), await developerDrawing(db, 0.1, 0.5)];
    const stillA = await developerDrawing(db, 0, 0.1);
    const ids = [...movedToB, stillA];
    const start = await env.currentTimeMs();
    for (const id of ids) await sandbox.signal(id, withKey(id, start));
    await env.sleep(2 * HOUR);
    const decided = await eventually(() => variantsOf(ids), { until: (rows) => rows.length === ids.length, describe: 'a decision for each developer' });
    expect(Object.fromEntries(decided.map((d) => [d.developer_id, [d.variant_id, d.outcome]]))).toEqual({
      ...Object.fromEntries(movedToB.map((id) => [id, ['b', 'sent']])),
      [stillA]: ['a', 'sent'],
    });
    const { rows } = await db.pool.query<{ weights: Record<string, number>; reason: string }>('SELECT weights, reason FROM experiment_allocations');
    expect(rows).toEqual([{ weights: { a: 0.1, b: 0.9 }, reason: expect.stringMatching(/^variant b converts 30% of 100 vs a 15% of 100; P\(best\) /) }]);
  });
});
