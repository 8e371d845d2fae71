import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatherCaseContext } from '../../src/cases/gather-case-context.ts';
import { funnelInForceCache } from '../../src/funnel/funnel-in-force-cache.ts';
import { holdoutBucket } from '../../src/journey/nudging.ts';
import { buildCaseMessage } from '../../src/slack/case-message.ts';
import { eventually } from '../support/eventually.ts';
import { runOnramp } from '../support/onramp-cli.ts';
import { ADMIN_KEY, AGENT_KEY, INGEST_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { signupWithKey } from '../support/signup-events.ts';
import { databaseBackends } from '../support/test-databases.ts';

const config = (name: string) => parse(readFileSync(fileURLToPath(new URL(`../../config/${name}`, import.meta.url)), 'utf8'));
const shippedRules = config('rules.yaml');
const shippedPolicy = config('escalation.yaml');

describe.each(databaseBackends())('a handoff case, whole, through the API (%s)', (backend) => {
  let h: OnrampHarness;
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  const agent = { authorization: `Bearer ${AGENT_KEY}` };
  const reader = { authorization: `Bearer ${INGEST_KEY}` };
  // Outside the holdout, so the 401 burst's nudge is sent.
  let n = 0;
  while (holdoutBucket(`${backend}_ctx_${n}`) < 1000) n++;
  const id = `${backend}_ctx_${n}`;
  const caseId = `${id}.h1`;

  beforeAll(async () => {
    h = await new OnrampHarness(backend).start();
    const rules = { ...structuredClone(shippedRules), policy: { ...shippedRules.policy, quietHours: { start: '00:00', end: '00:00' } } };
    const put = await h.app.inject({
      method: 'PUT',
      url: '/v1/rules',
      headers: admin,
      payload: { source: stringify(rules), author: 'growth@example.com', reason: 'no quiet hours in this test' },
    });
    expect(put.statusCode, put.body).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  const read = async () => {
    const response = await h.app.inject({ method: 'GET', url: `/v1/handoffs/${caseId}`, headers: agent });
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  };

  it('shows the diagnosis, the nudges, the timeline, the masked contact, why it escalated and the SLA state; the list summarizes it', async () => {
    const t0 = Date.now() - 60_000;
    const at = (ms: number) => new Date(t0 + ms).toISOString();
    const requests = Array.from({ length: 6 }, (_, i) => ({
      id: `${id}-r${i}`,
      type: 'api.request',
      occurredAt: at(1000 + i * 1000),
      properties: { apiKey: `key_${id}`, endpoint: '/v1/charges', method: 'POST', status: 401, mode: 'test' },
    }));
    const posted = await h.post({
      events: [
        ...signupWithKey(id, at(0), { email: 'jane.doe@example.com', accountType: 'organization', acquisitionChannel: 'organic_search', timezone: 'Europe/Paris' }),
        ...requests,
      ],
    });
    expect(posted.statusCode, posted.body).toBe(202);
    await eventually(() => h.prisma.nudgeDecision.findMany({ where: { developerId: id, outcome: 'sent' } }), {
      until: (d) => d.length > 0,
      describe: `the 401 nudge sent to ${id}`,
    });
    const ticket = await h.post({
      events: [{ id: `${id}-t`, type: 'support.ticket_created', developerId: id, occurredAt: new Date().toISOString(), properties: { subject: 'my key is refused' } }],
    });
    expect(ticket.statusCode, ticket.body).toBe(202);
    const whole = await eventually(read, { until: (c) => c.status === 'open', describe: `case ${caseId} open` });

    const { context } = whole;
    expect(context.developer).toEqual({ id, email: 'j***@example.com', accountType: 'organization', orgId: null, channel: 'organic_search', timezone: 'Europe/Paris' });
    // A 401 burst names no endpoint (the key is wrong everywhere); its count and what it means.
    expect(context.diagnosis).toEqual([expect.stringMatching(/^6 × 401: .*credentials used wrongly/)]);
    expect(context.nudges).toEqual([expect.objectContaining({ ruleId: 'authentication-help', template: 'authentication-help', outcome: 'sent' })]);
    expect(context.timeline.map((e: any) => e.what)).toEqual(expect.arrayContaining(['nudge sent: authentication-help', 'support.ticket_created']));
    expect(context.stage).toMatchObject({ id: 'credential_provisioned' });
    expect(context.escalation).toMatchObject({ criterion: 'support_ticket', policyVersion: 1, reason: whole.reason });
    // Unclaimed: the claim SLA is the next deadline.
    expect(context.sla).toEqual({ level: 1, claimDueAt: whole.claimDueAt, resolveDueAt: whole.resolveDueAt, breaches: [], snoozedUntil: null, dueAt: whole.claimDueAt });
    expect(context.journeyUrl).toMatch(new RegExp(`/v1/developers/${id}/journey$`));
    expect(context.caseUrl).toMatch(new RegExp(`/dashboard/handoffs\\?case=${caseId}$`));

    // The Slack post is built from the same context: the same diagnosis line, the same masked email.
    const slackContext = await gatherCaseContext(h.db.pool, id, { showEmail: false, publicUrl: 'http://localhost', now: Date.now(), funnelInForce: funnelInForceCache(h.db.pool) });
    const post = JSON.stringify(buildCaseMessage({ view: whole, context: slackContext, outcomes: whole.outcomes }).blocks);
    expect(post).toContain(context.diagnosis[0]);
    expect(post).toContain('j***@example.com');

    // A hard bounce: the case says email does not reach them, in the API and in the post alike.
    expect(context).not.toHaveProperty('emailSuppressed');
    const bounce = { id: `${id}-b`, type: 'email.bounced', developerId: id, occurredAt: new Date().toISOString(), properties: { bounceType: 'hard', provider: 'ses' } };
    expect((await h.post({ events: [bounce] })).statusCode).toBe(202);
    const suppressed = (await eventually(read, { until: (c) => c.context.emailSuppressed !== undefined, describe: 'the hard bounce in the case' })).context.emailSuppressed;
    expect(suppressed).toMatch(/^email does not reach them: hard bounce on \d{4}-\d{2}-\d{2}$/);
    const bouncedContext = await gatherCaseContext(h.db.pool, id, {
      showEmail: false,
      publicUrl: 'http://localhost',
      now: Date.now(),
      funnelInForce: funnelInForceCache(h.db.pool),
    });
    expect(JSON.stringify(buildCaseMessage({ view: whole, context: bouncedContext, outcomes: whole.outcomes }).blocks)).toContain(suppressed);

    const list = await h.app.inject({ method: 'GET', url: `/v1/handoffs?developer=${id}`, headers: agent });
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().handoffs[0].summary).toEqual({
      stage: context.stage.label,
      stuckForSeconds: expect.any(Number),
      diagnosis: context.diagnosis[0],
      sla: context.sla,
      risk: null,
    }); // too few developers watched that long for a risk

    // The developer's cases, readable with the ingest key, carry no context (no contact).
    const mine = await h.app.inject({ method: 'GET', url: `/v1/developers/${id}/handoffs`, headers: reader });
    expect(mine.json().handoffs[0]).not.toHaveProperty('context');
    expect(mine.body).not.toContain('jane.doe');

    // A policy that shows the email: the API shows it whole.
    const policy = { ...shippedPolicy, privacy: { showEmail: true } };
    const put = await h.app.inject({
      method: 'PUT',
      url: '/v1/escalation-policy',
      headers: admin,
      payload: { source: stringify(policy), author: 'lead@example.com', reason: 'agents see contacts' },
    });
    expect(put.statusCode, put.body).toBe(201);
    expect((await read()).context.developer.email).toBe('jane.doe@example.com');

    const snoozed = await h.app.inject({
      method: 'POST',
      url: `/v1/handoffs/${caseId}/actions`,
      headers: agent,
      payload: { action: 'snooze', actor: 'ana@example.com', for: '1h' },
    });
    expect(snoozed.statusCode, snoozed.body).toBe(200);
    const after = await read();
    expect(after.context.sla).toMatchObject({ snoozedUntil: after.snoozedUntil, claimDueAt: null });
  });

  it('onramp handoffs: the queue, the case whole, actions, the API’s errors (exit 1) and no key (exit 2)', async () => {
    const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const onramp = (args: string[], env: Record<string, string> = { ONRAMP_AGENT_KEY: AGENT_KEY }) =>
      runOnramp(['handoffs', ...args, '--url', url], { ONRAMP_DATA_DIR: '/nonexistent', ...env });

    const list = await onramp(['list', '--developer', id]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${caseId} +snoozed +1 +— +Credential provisioned`, 'm'));
    expect(list.stdout).toMatch(/diagnosis: 6 × 401: .*credentials used wrongly/);
    const queue = await onramp(['list', '--status', 'active', '--order', 'due', '--criterion', 'support_ticket', '--json']);
    expect(queue.code, queue.stderr).toBe(0);
    expect(JSON.parse(queue.stdout).handoffs.map((c: { id: string }) => c.id)).toContain(caseId);

    const shown = await onramp(['show', caseId]);
    expect(shown.code, shown.stderr).toBe(0);
    for (const part of [
      'Why it escalated: ',
      'criterion support_ticket',
      'Diagnosis\n  • 6 × 401',
      'authentication-help \\(template authentication-help\\) — sent',
      'support.ticket_created',
      'snoozed +ana@example.com',
      'Frictions: authentication_confusion, missing_docs, rate_limits, sdk_gap, not_a_fit',
    ]) {
      expect(shown.stdout).toMatch(new RegExp(part));
    }
    const json = await onramp(['show', caseId, '--json'], { ONRAMP_ADMIN_KEY: ADMIN_KEY });
    expect(JSON.parse(json.stdout)).toMatchObject({ id: caseId, context: { developer: { id } } });

    const note = await onramp(['note', caseId, 'Their key is a live key on the test host', '--actor', 'ana@example.com']);
    expect(note).toMatchObject({ code: 0, stdout: `noted: ${caseId} is snoozed\n` });
    // Once ana claims it, bo takes it over only by saying so.
    expect((await onramp(['claim', caseId, '--actor', 'ana@example.com'])).stdout).toBe(`claimed: ${caseId} is claimed (owner ana@example.com)\n`);
    const notYours = await onramp(['claim', caseId, '--actor', 'bo@example.com']);
    expect(notYours.code).toBe(1);
    expect(notYours.stderr).toContain('claimed by ana@example.com');
    const takenOver = await onramp(['claim', caseId, '--take-over', '--actor', 'bo@example.com']);
    expect(takenOver).toMatchObject({ code: 0, stdout: `claimed: ${caseId} is claimed (owner bo@example.com)\n` });
    const badOutcome = await onramp(['resolve', caseId, 'shrug', '--actor', 'bo@example.com']);
    expect(badOutcome.code).toBe(1);
    expect(badOutcome.stderr).toContain('outcome must be one of: unblocked');
    const badFriction = await onramp(['resolve', caseId, 'unblocked', '--friction', 'bad_luck', '--actor', 'bo@example.com']);
    expect(badFriction.code).toBe(1);
    expect(badFriction.stderr).toContain('400 {"errors":[{"path":"friction","message":"\\"bad_luck\\" is not one of the escalation policy\'s frictions');
    const resolved = await onramp(['resolve', caseId, 'unblocked', '--friction', 'authentication_confusion', '--note', 'rotated the key', '--actor', 'bo@example.com', '--json']);
    expect(JSON.parse(resolved.stdout)).toMatchObject({ changed: true, case: { status: 'resolved', outcome: 'unblocked', friction: 'authentication_confusion' } });
    const late = await onramp(['claim', caseId, '--actor', 'bo@example.com']);
    expect(late.code).toBe(1);
    expect(late.stderr).toContain('409');
    expect(late.stderr).toContain('is closed');
    expect((await onramp(['show', `${id}.h9`])).code).toBe(1);
    expect((await onramp(['list', '--key', INGEST_KEY])).code).toBe(1);
    const keyless = await onramp(['list'], {});
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toContain('No agent key');
  }, 180_000); // some twenty CLI processes, each a Node start-up: slow on a busy machine
});
