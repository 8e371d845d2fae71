import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { localDueLabel } from '../../src/journey/business-time.ts';
import { SlackGateway } from '../../src/slack/slack-gateway.ts';
import { eventually } from '../support/eventually.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { immediateRules, SHIPPED_POLICY, startJourneySandbox, type JourneySandbox } from '../support/journey-sandbox.ts';
import { databaseBackends } from '../support/test-databases.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TOKEN = 'xoxb-test-token';
const ZONE = 'Europe/Paris';
const iso = (ms: number) => new Date(ms).toISOString();

/** The shipped policy with Paris office hours, Monday to Friday 09:00–17:00, and no stall criteria (a ticket opens the case). */
function policyWithOfficeHours(): string {
  const doc = parse(SHIPPED_POLICY) as Record<string, unknown> & { criteria: { stalls: unknown[] } };
  doc.criteria.stalls = [];
  doc.officeHours = { timeZone: ZONE, hours: { 'mon-fri': '09:00-17:00' } };
  return stringify(doc);
}

/** The instant it is `hh:00` in Paris on the UTC calendar day of `dayMs` (found by reading the clock, not by computing offsets). */
function parisTime(dayMs: number, hh: number): number {
  const midnight = dayMs - (dayMs % DAY);
  const found = [hh - 2, hh - 1].map((utcHour) => midnight + utcHour * HOUR).find((t) => localDueLabel(t, ZONE).endsWith(`${String(hh).padStart(2, '0')}:00`));
  if (found === undefined) throw new Error(`no ${hh}:00 in ${ZONE} on ${iso(dayMs)}`);
  return found;
}

let sandbox: JourneySandbox;
let env: TestWorkflowEnvironment;
let db: Database;
let slack: FakeSlack;

/**
 * SLA clocks in office hours under the real workflow: a case escalated on a Friday evening breaches
 * its claim SLA on Monday at 13:00 (4 h of Monday-to-Friday 09:00–17:00), not 4 h later.
 */
describe.each(databaseBackends())('office hours (time-skipping server, real Slack client against a local Slack, %s)', (backend) => {
  beforeAll(async () => {
    slack = await startFakeSlack({ token: TOKEN });
    sandbox = await startJourneySandbox({
      backend,
      taskQueue: 'office-hours-test',
      rules: immediateRules(),
      policy: policyWithOfficeHours(),
      handoffs: { slack: new SlackGateway({ token: TOKEN, slackApiUrl: slack.slackApiUrl, retryConfig: { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 50 } }) },
    });
    ({ env, db } = sandbox);
  }, 120_000);

  afterAll(async () => {
    await sandbox?.close();
    await slack?.close();
  });

  const postsFor = (channel: string, developerId: string) => slack.messages(channel).filter((m) => !m.thread_ts && m.text.includes(developerId));
  const stepsOf = async (developerId: string) =>
    (await db.pool.query<{ step: string; at: Date }>('SELECT step, at FROM handoff_steps WHERE developer_id = $1 ORDER BY at, step_key', [developerId])).rows;

  it('breaches the claim SLA of a case escalated on Friday at 17:00 on Monday at 13:00, re-escalating then', async () => {
    const id = 'dev_office_hours';
    await db.pool.query(`INSERT INTO developers (id, email, account_type, acquisition_channel) VALUES ($1, $2, 'individual', 'direct')`, [id, `${id}@example.com`]);
    const now = await env.currentTimeMs();
    await sandbox.signal(id, [
      { id: `${id}-signup`, type: 'developer.signed_up', occurredAt: iso(now - HOUR), properties: { accountType: 'individual', acquisitionChannel: 'direct' } },
      { id: `${id}-key`, type: 'api_key.created', occurredAt: iso(now), properties: { mode: 'test' } },
    ]);

    // The next Friday (UTC calendar) at 17:00 in Paris, at least a day away; Monday 13:00 after it.
    let friday = now + DAY;
    while (new Date(friday).getUTCDay() !== 5) friday += DAY;
    const raisedAt = parisTime(friday, 17);
    const dueAt = parisTime(friday + 3 * DAY, 13);
    await env.sleep(raisedAt - (await env.currentTimeMs()));
    await sandbox.signal(id, [{ id: `${id}-ticket`, type: 'support.ticket_created', occurredAt: iso(await env.currentTimeMs()) }]);
    await env.sleep('1 minute');
    const [post] = await eventually(() => postsFor('#onboarding-help', id), { until: (p) => p.length > 0, describe: `the case of ${id} posted in #onboarding-help` });
    expect(JSON.stringify(post!.blocks)).toContain(`claim due ${localDueLabel(dueAt, ZONE)} ${ZONE} (business hours)`);
    const { rows: opened } = await db.pool.query<{ view: { claimDueAt: string; officeHours: unknown } }>('SELECT view FROM handoffs WHERE developer_id = $1', [id]);
    expect(opened[0]!.view).toMatchObject({ claimDueAt: iso(dueAt), officeHours: { claim: ZONE, resolution: ZONE } });

    // Wall-clock, the 4 h ended Friday at 21:00: nothing moves all weekend.
    await env.sleep(dueAt - 60_000 - (await env.currentTimeMs()));
    expect(postsFor('#onboarding-escalations', id)).toEqual([]);
    expect((await stepsOf(id)).map((s) => s.step)).toEqual(['escalated']);

    await env.sleep(2 * 60_000);
    await eventually(() => postsFor('#onboarding-escalations', id), { until: (p) => p.length > 0, describe: `the case of ${id} re-escalated to #onboarding-escalations` });
    const log = await stepsOf(id);
    expect(log.map((s) => s.step)).toEqual(['escalated', 'sla_breached', 're_escalated']);
    expect(log[1]!.at.getTime()).toBeGreaterThanOrEqual(dueAt);
    expect(log[1]!.at.getTime()).toBeLessThan(dueAt + 2 * 60_000);
  });
});
