import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import type { JourneyEvent } from '../../src/journey/journey-event.ts';
import { holdoutBucket } from '../../src/journey/nudging.ts';
import { EscalationPolicyStore } from '../../src/rules/escalation-policy-store.ts';
import { eventually } from '../support/eventually.ts';
import { SHIPPED_POLICY, immediateRules, startJourneySandbox, type JourneySandbox } from '../support/journey-sandbox.ts';
import { seedRiskCohort } from '../support/risk-cohort.ts';
import { databaseBackends } from '../support/test-databases.ts';
import { parse, stringify } from 'yaml';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

let developers = 0;
/** A developer outside the holdout, with an email address. */
async function developer(db: Database): Promise<string> {
  let id: string;
  do id = `dev_risk_${developers++}`;
  while (holdoutBucket(id) < 1000);
  await db.pool.query('INSERT INTO developers (id, email) VALUES ($1, $2)', [id, `${id}@example.com`]);
  return id;
}

const withKey = (id: string, at: number): JourneyEvent[] => [
  { id: `${id}-signup`, type: 'developer.signed_up', occurredAt: iso(at), properties: { accountType: 'individual', acquisitionChannel: 'organic_search', timezone: 'UTC' } },
  { id: `${id}-key`, type: 'api_key.created', occurredAt: iso(at), properties: { mode: 'test' } },
];

describe.each(databaseBackends())('risk criteria under the time-skipping server (%s)', (backend) => {
  let sandbox: JourneySandbox;
  let env: TestWorkflowEnvironment;
  let db: Database;

  beforeAll(async () => {
    // One rule: a nudge when the risk in credential_provisioned is above 0.8 (the shipped 24 h rule is gone).
    const rules = immediateRules((doc) => {
      doc.rules = [{ id: 'risky-key', when: { stage: 'credential_provisioned', risk: { above: 0.8 } }, action: { send: 'first-call-help' } }];
    });
    sandbox = await startJourneySandbox({ backend, taskQueue: 'risk-criteria-test', rules });
    ({ env, db } = sandbox);
    await seedRiskCohort(db.pool, Date.now() - 40 * DAY); // before the curves' instant, the start of this hour
  }, 120_000);

  afterAll(async () => {
    await sandbox?.close();
  });

  const decisionsOf = async (id: string) =>
    (
      await db.pool.query<{ rule_id: string; outcome: string; decided_at: Date; inputs: { risk?: unknown } }>(
        'SELECT rule_id, outcome, decided_at, inputs FROM nudge_decisions WHERE developer_id = $1 ORDER BY id',
        [id],
      )
    ).rows;

  it('sends the risk rule’s nudge when the risk crosses its threshold (12 h in the stage for the seeded cohort), not before', async () => {
    const id = await developer(db);
    const start = await env.currentTimeMs();
    await sandbox.signal(id, withKey(id, start));
    await env.sleep(11 * HOUR);
    expect(await decisionsOf(id)).toEqual([]);
    await env.sleep(2 * HOUR);
    const [sent] = await eventually(() => decisionsOf(id), { until: (d) => d.length > 0, describe: `a decision for ${id}` });
    expect(sent).toMatchObject({ rule_id: 'risky-key', outcome: 'sent', inputs: { risk: { above: 0.8 } } });
    expect(sent!.decided_at.getTime() - start).toBeGreaterThanOrEqual(12 * HOUR);
    expect(sent!.decided_at.getTime() - start).toBeLessThan(12 * HOUR + 5 * 60_000);
  });

  it('escalates by a stall criterion’s risk before its `after`', async () => {
    const policy = parse(SHIPPED_POLICY);
    policy.criteria.stalls[0] = { ...policy.criteria.stalls[0], risk: { above: 0.8, notBefore: '6h' } };
    const applied = await new EscalationPolicyStore(db.pool).apply({ source: stringify(policy), author: 'test', reason: 'escalate developers at risk' });
    expect(applied.ok).toBe(true);
    const id = await developer(db);
    const start = await env.currentTimeMs();
    await sandbox.signal(id, withKey(id, start));
    await env.sleep(13 * HOUR);
    const [opened] = await eventually(
      async () =>
        (await db.pool.query<{ criterion: string; opened_at: Date; view: { reason: string } }>('SELECT criterion, opened_at, view FROM handoffs WHERE developer_id = $1', [id]))
          .rows,
      { until: (rows) => rows.length > 0, describe: `a case for ${id}` },
    );
    expect(opened).toMatchObject({ criterion: 'stall:no-first-call', view: { reason: 'stagnation risk in credential provisioned above 80% after 12 hours' } });
    expect(opened!.opened_at.getTime() - start).toBeLessThan(7 * DAY);
  });
});
