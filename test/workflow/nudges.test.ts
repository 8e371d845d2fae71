import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readMessages } from '../../src/api/read-messages.ts';
import type { Database } from '../../src/db/database.ts';
import type { JourneyEvent } from '../../src/journey/journey-event.ts';
import { assignVariant } from '../../src/journey/experiment-assignment.ts';
import { holdoutBucket } from '../../src/journey/nudging.ts';
import { smtpMailer } from '../../src/mail/mailer.ts';
import { RuleStore } from '../../src/rules/rule-store.ts';
import { eventually } from '../support/eventually.ts';
import { SHIPPED_RULES, startJourneySandbox, type JourneySandbox } from '../support/journey-sandbox.ts';
import { databaseBackends } from '../support/test-databases.ts';
import { freePort } from '../../src/temporal/free-port.ts';

const HOUR = 3_600_000;
const taskQueue = 'nudges-test';

let sandbox: JourneySandbox;
let env: TestWorkflowEnvironment;
let db: Database;
let store: RuleStore;
let smtp: SMTPServer;
const received: ParsedMail[] = [];
const failAfterHandoff = new Set<string>();
/** Recipients the SMTP server refuses (550, as for an unknown mailbox), and how often each was tried. */
const refusedRecipients = new Map<string, number>();

let smtpPort: number;

beforeAll(async () => {
  smtpPort = await freePort();
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onRcptTo(address, _session, callback) {
      const tries = refusedRecipients.get(address.address);
      if (tries === undefined) return callback();
      refusedRecipients.set(address.address, tries + 1);
      callback(Object.assign(new Error('5.1.1 Recipient address rejected: User unknown'), { responseCode: 550 }));
    },
    onData(stream, _session, callback) {
      simpleParser(stream).then((mail) => (received.push(mail), callback()), callback);
    },
  });
  await new Promise<void>((resolve) => smtp.listen(smtpPort, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise<void>((resolve) => (smtp ? smtp.close(resolve) : resolve()));
});

/** Applies the shipped rules with policy overrides (quiet hours etc.) as a new version. */
async function applyRules(policy: Record<string, unknown>, reason: string, edit: (doc: any) => void = () => {}) {
  const doc = parse(SHIPPED_RULES);
  doc.policy = { ...doc.policy, ...policy };
  edit(doc);
  const result = await store.apply({ source: stringify(doc), author: 'test', reason });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.version.version;
}

let developers = 0;
/** A developer outside the default 10% holdout (the bucket is fixed by the id). */
async function developer(email = true): Promise<string> {
  let id: string;
  do id = `dev_nudge_${developers++}`;
  while (holdoutBucket(id) < 1000);
  await db.pool.query('INSERT INTO developers (id, email) VALUES ($1, $2)', [id, email ? `${id}@example.com` : null]);
  return id;
}

function holdoutDeveloperId(): string {
  let n = 0;
  while (holdoutBucket(`dev_holdout_${n}`) >= 1000) n++;
  return `dev_holdout_${n}`;
}

const signal = (developerId: string, events: JourneyEvent[]) => sandbox.signal(developerId, events);

const iso = (ms: number) => new Date(ms).toISOString();
const signup = (id: string, at: number, props: Record<string, string> = {}): JourneyEvent => ({
  id: `${id}-signup`,
  type: 'developer.signed_up',
  occurredAt: iso(at),
  properties: { accountType: 'individual', acquisitionChannel: 'paid', timezone: 'UTC', ...props },
});
const key = (id: string, at: number): JourneyEvent => ({ id: `${id}-key`, type: 'api_key.created', occurredAt: iso(at), properties: { mode: 'test' } });

const mailTo = (developerId: string) => received.filter((m) => (Array.isArray(m.to) ? m.to : [m.to]).some((to) => to?.text.includes(`${developerId}@`)));

async function decisions(developerId: string) {
  const { rows } = await db.pool.query<{
    rule_id: string;
    rule_version: number;
    outcome: string;
    reason: string | null;
    template: string | null;
    decided_at: Date;
    scheduled_for: Date | null;
  }>('SELECT rule_id, rule_version, outcome, reason, template, decided_at, scheduled_for FROM nudge_decisions WHERE developer_id = $1 ORDER BY id', [developerId]);
  return rows;
}

/** Lets the workflow act on what it was sent (time-skipping advances only while we wait). */
const settle = () => env.sleep('1 second');

/** Mail arrives over a real socket: wait (in real time) until `count` messages reached the developer. */
const mailArrives = (developerId: string, count: number) =>
  eventually(() => mailTo(developerId), { until: (mail) => mail.length >= count, describe: `${count} email(s) to ${developerId}` });

describe.each(databaseBackends())('nudges under the time-skipping server, delivered to a local SMTP server (%s)', (backend) => {
  beforeAll(async () => {
    // No rules yet (each test applies its own) and no escalation policy: journeys decide nudges
    // alone (handoff.test.ts has both).
    sandbox = await startJourneySandbox({
      backend,
      taskQueue,
      nudges: {
        mailer: smtpMailer(`smtp://127.0.0.1:${smtpPort}`),
        // A crash right after the mail server accepted the message, before it was marked sent.
        async afterHandoff(emailId) {
          if (failAfterHandoff.delete(emailId)) throw new Error('worker lost after the SMTP handoff');
        },
      },
    });
    ({ env, db } = sandbox);
    store = new RuleStore(db.pool);
  }, 120_000);

  afterAll(async () => {
    await sandbox?.close();
  });

  // Each test starts from the shipped rules without quiet hours (a test may store other rules).
  beforeEach(async () => {
    await applyRules({ quietHours: { start: '00:00', end: '00:00' } }, 'no quiet hours for these tests');
  });

  it("an experiment: each developer gets their variant's template at their variant's delay, all assigned at the shortest; the holdout none", async () => {
    const experiment = {
      id: 'subject-test',
      goal: 'first_api_call',
      window: '7d',
      variants: [
        { id: 'a', send: 'first-call-help' },
        { id: 'b', send: 'first-call-guided', after: '48h' },
      ],
    };
    await applyRules({ quietHours: { start: '00:00', end: '00:00' } }, 'test two first emails', (doc) => {
      doc.rules = [{ id: 'first-call-help', when: { stage: 'credential_provisioned', after: '24h' }, action: { experiment } }];
    });
    /** A developer outside the holdout whom the experiment draws into `variant`. */
    const inVariant = async (variant: string) => {
      for (;;) {
        const id = await developer();
        if (assignVariant(id, { id: experiment.id, variants: experiment.variants.map((v) => ({ ...v, weight: 1 })) }).id === variant) return id;
      }
    };
    let n = 0;
    while (holdoutBucket(`dev_experiment_holdout_${n}`) >= 1000) n++;
    const [a, b, held] = [await inVariant('a'), await inVariant('b'), `dev_experiment_holdout_${n}`];
    await db.pool.query('INSERT INTO developers (id, email) VALUES ($1, $2)', [held, `${held}@example.com`]);
    const now = await env.currentTimeMs();
    for (const id of [a, b, held]) await signal(id, [signup(id, now), key(id, now)]);
    await env.sleep(25 * HOUR);
    await settle();
    await mailArrives(a, 1);
    expect(mailTo(b)).toHaveLength(0);
    await env.sleep(24 * HOUR);
    await settle();
    await mailArrives(b, 1);
    expect(mailTo(held)).toHaveLength(0);
    const arms = async (id: string) =>
      (
        await db.pool.query<{ outcome: string; reason: string | null; template: string | null; experiment_id: string; variant_id: string | null; decided_at: Date }>(
          'SELECT outcome, reason, template, experiment_id, variant_id, decided_at FROM nudge_decisions WHERE developer_id = $1 ORDER BY id',
          [id],
        )
      ).rows.map((r) => [r.outcome, r.reason, r.template, r.experiment_id, r.variant_id, Math.round((r.decided_at.getTime() - now) / HOUR)]);
    expect(await arms(a)).toEqual([['sent', null, 'first-call-help', 'subject-test', 'a', 24]]);
    expect(await arms(b)).toEqual([
      ['scheduled', 'experiment_delay', 'first-call-guided', 'subject-test', 'b', 24],
      ['sent', null, 'first-call-guided', 'subject-test', 'b', 48],
    ]);
    expect(await arms(held)).toEqual([['skipped', 'holdout', null, 'subject-test', null, 24]]);
    // The developer's messages show the arm of each decision.
    expect((await readMessages(db.prisma, b)).map((m) => [m.outcome, m.experiment])).toEqual([
      ['scheduled', { id: 'subject-test', variant: 'b' }],
      ['sent', { id: 'subject-test', variant: 'b' }],
    ]);
  });

  it('a stalled developer gets the segment template after 24 h and a different nudge at 72 h, nothing before', async () => {
    const id = await developer();
    const now = await env.currentTimeMs();
    await signal(id, [signup(id, now, { acquisitionChannel: 'organic_search' }), key(id, now)]);
    await env.sleep(23 * HOUR);
    expect(mailTo(id)).toHaveLength(0);
    await env.sleep(2 * HOUR);
    await settle();
    expect((await mailArrives(id, 1)).map((m) => m.subject)).toEqual(['The reference for the call you need']);
    const first = mailTo(id)[0]!;
    // RFC 8058 one-click unsubscribe (raw lines: mailparser folds List-* headers into one object).
    const header = (name: string) => (first.headerLines.find((h) => h.key === name)?.line ?? '').replace(/\r?\n\s+/g, ' ');
    expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    expect(header('list-unsubscribe')).toMatch(new RegExp(`^List-Unsubscribe: <http://onramp\\.test/v1/unsubscribe\\?developer=${id}&token=[\\w-]+>$`));
    expect(first.text).toContain('https://docs.example.com/reference');
    await env.sleep(48 * HOUR);
    await settle();
    expect((await mailArrives(id, 2)).map((m) => m.subject)).toEqual(['The reference for the call you need', 'Still no API call? Here is what usually blocks it']);
    const rows = await decisions(id);
    expect(rows.map((r) => [r.rule_id, r.outcome, r.template])).toEqual([
      ['first-call-help', 'sent', 'first-call-reference'],
      ['first-call-second-nudge', 'sent', 'first-call-second'],
    ]);
  });

  it('reaching the next stage stops the stage-left nudges; the next stage has its own', async () => {
    const id = await developer();
    const now = await env.currentTimeMs();
    await signal(id, [signup(id, now), key(id, now)]);
    await env.sleep(2 * HOUR);
    await signal(id, [{ id: `${id}-r1#first_api_call`, type: 'api.milestone', stage: 'first_api_call', occurredAt: iso(now + 2 * HOUR), causeEventId: `${id}-r1` }]);
    await env.sleep(70 * HOUR);
    await settle();
    expect(mailTo(id)).toHaveLength(0);
    await env.sleep(4 * HOUR); // first call + 3 days
    await settle();
    expect((await mailArrives(id, 1)).map((m) => m.subject)).toEqual(['You made your first call. What next?']);
  });

  it('a rule waiting for an event nudges only the developer who has not sent it, however far they got', async () => {
    await applyRules({ quietHours: { start: '00:00', end: '00:00' } }, 'only a rule that waits for an invitation', (doc) => {
      doc.rules = [{ id: 'invite-your-team', when: { event: 'team.invited', absentAfter: '3d', since: 'credential_provisioned' }, action: { send: 'explore-the-api' } }];
    });
    const [invited, alone] = [await developer(), await developer()];
    const now = await env.currentTimeMs();
    await signal(invited, [signup(invited, now), key(invited, now)]);
    await signal(alone, [signup(alone, now), key(alone, now)]);
    await env.sleep(HOUR);
    // Only an event.seen reaches the journey, whatever the event's type (custom here).
    await signal(invited, [{ id: `${invited}-t#seen`, type: 'event.seen', eventType: 'team.invited', occurredAt: iso(now + HOUR) }]);
    await signal(alone, [{ id: `${alone}-r1#first_api_call`, type: 'api.milestone', stage: 'first_api_call', occurredAt: iso(now + HOUR), causeEventId: `${alone}-r1` }]);
    await env.sleep(70 * HOUR);
    await settle();
    expect(mailTo(alone)).toHaveLength(0);
    await env.sleep(2 * HOUR); // the key + 3 days
    await settle();
    expect((await mailArrives(alone, 1)).map((m) => m.subject)).toEqual(['You made your first call. What next?']);
    expect((await decisions(alone)).map((r) => [r.rule_id, r.outcome])).toEqual([['invite-your-team', 'sent']]);
    expect(await decisions(invited)).toEqual([]);
    expect(mailTo(invited)).toHaveLength(0);
  });

  it('sends nothing to a developer who revoked consent, or who is in the holdout; each is a recorded skip', async () => {
    const revoked = await developer();
    const held = holdoutDeveloperId();
    await db.pool.query('INSERT INTO developers (id, email) VALUES ($1, $2)', [held, `${held}@example.com`]);
    const now = await env.currentTimeMs();
    await signal(revoked, [
      signup(revoked, now),
      key(revoked, now),
      { id: `${revoked}-c`, type: 'consent.updated', occurredAt: iso(now + 1000), properties: { emailConsent: 'revoked' } },
    ]);
    await signal(held, [signup(held, now), key(held, now)]);
    await env.sleep(26 * HOUR);
    await settle();
    expect(mailTo(revoked)).toHaveLength(0);
    expect(mailTo(held)).toHaveLength(0);
    expect((await decisions(revoked)).map((r) => [r.rule_id, r.outcome, r.reason])).toEqual([['first-call-help', 'skipped', 'consent']]);
    expect((await decisions(held)).map((r) => [r.rule_id, r.outcome, r.reason])).toEqual([['first-call-help', 'skipped', 'holdout']]);
  });

  it('holds a nudge due in quiet hours until they end, in the developer time zone', async () => {
    const id = await developer();
    const now = await env.currentTimeMs();
    // Quiet from an hour before the nudge is due until two hours after, in Tokyo (UTC+9, no DST).
    const hhmm = (ms: number) => new Date(ms + 9 * HOUR).toISOString().slice(11, 16);
    const due = now + 24 * HOUR;
    await applyRules({ quietHours: { start: hhmm(due - HOUR), end: hhmm(due + 2 * HOUR) } }, 'quiet hours around the due time');
    await signal(id, [signup(id, now, { timezone: 'Asia/Tokyo' }), key(id, now)]);
    await env.sleep(25 * HOUR);
    await settle();
    expect(mailTo(id)).toHaveLength(0);
    const [scheduled] = await decisions(id);
    expect(scheduled).toMatchObject({ rule_id: 'first-call-help', outcome: 'scheduled', reason: 'quiet_hours' });
    await env.sleep(2 * HOUR);
    await settle();
    expect(await mailArrives(id, 1)).toHaveLength(1);
    const sent = (await decisions(id))[1]!;
    expect(sent).toMatchObject({ rule_id: 'first-call-help', outcome: 'sent' });
    expect(sent.decided_at.getTime()).toBeGreaterThanOrEqual(scheduled!.scheduled_for!.getTime());
  });

  it('uses a rules change from the next decision and records the version that decided', async () => {
    const id = await developer();
    const now = await env.currentTimeMs();
    await signal(id, [signup(id, now), key(id, now)]);
    await env.sleep(2 * HOUR);
    const version = await applyRules({ quietHours: { start: '00:00', end: '00:00' } }, 'first-call help after 6 h', (doc) => {
      doc.rules.find((r: any) => r.id === 'first-call-help').when.after = '6h';
    });
    // The journey decides again at its next event (or wake-up): a docs view now.
    await signal(id, [{ id: `${id}-docs`, type: 'docs.viewed', occurredAt: iso(now + 2 * HOUR) }]);
    await env.sleep(5 * HOUR);
    await settle();
    expect(await mailArrives(id, 1)).toHaveLength(1);
    expect((await decisions(id))[0]).toMatchObject({ rule_id: 'first-call-help', outcome: 'sent', rule_version: version });
  });

  it('strips control characters from header-bound values rendered from event data: the stored email is the one sent, no header injected', async () => {
    const id = await developer();
    const now = await env.currentTimeMs();
    const endpoint = '/v1/charges\r\nBcc: attacker@example.com\u0085\tX-Injected: 1\u007f';
    await signal(id, [
      signup(id, now),
      key(id, now),
      { id: `burst:${id}:bad_request_burst`, type: 'api.error_burst', kind: 'bad_request_burst', occurredAt: iso(now), status: 400, count: 6, endpoint },
    ]);
    await settle();
    const [mail] = await mailArrives(id, 1);
    const { rows } = await db.pool.query<{ subject: string; to_address: string }>('SELECT subject, to_address FROM emails WHERE developer_id = $1', [id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.subject).toBe('Required parameters for /v1/charges Bcc: attacker@example.com X-Injected: 1');
    expect(mail!.subject).toBe(rows[0]!.subject);
    expect(mail!.bcc).toBeUndefined();
    expect(mail!.headers.has('x-injected')).toBe(false);
  });

  it('a send retried after the mail server accepted it does not send twice', async () => {
    const id = await developer();
    failAfterHandoff.add(`${id}/first-call-help#1`);
    const now = await env.currentTimeMs();
    await signal(id, [signup(id, now), key(id, now)]);
    await env.sleep(25 * HOUR);
    await settle();
    await env.sleep('1 minute'); // past the activity's retry
    expect(failAfterHandoff.size).toBe(0);
    // The retried send recorded as sent: the activity is done (the SMTP server answers a message
    // only once it is in `received`), so a second copy would be here by now.
    const rows = await eventually(() => decisions(id), { until: (d) => d.some((r) => r.outcome === 'sent'), describe: `the retried nudge to ${id} recorded as sent` });
    expect(rows.filter((r) => r.outcome === 'sent')).toHaveLength(1);
    expect(mailTo(id)).toHaveLength(1);
  });

  it('does not retry a send the mail server refused for good (550 at RCPT): one attempt, the decision says why', async () => {
    const id = await developer();
    refusedRecipients.set(`${id}@example.com`, 0);
    const now = await env.currentTimeMs();
    await signal(id, [signup(id, now), key(id, now)]);
    await env.sleep(25 * HOUR);
    await settle();
    const rows = await eventually(() => decisions(id), { until: (d) => d.some((r) => r.outcome === 'skipped'), describe: `the refused nudge to ${id} recorded` });
    expect(rows.find((r) => r.outcome === 'skipped')).toMatchObject({ reason: expect.stringMatching(/^send_failed: .*550/) });
    // An hour on, the retry policy (5 s doubling up to 10 min) would have tried about ten times.
    await env.sleep('1 hour');
    await settle();
    expect(refusedRecipients.get(`${id}@example.com`)).toBe(1);
    const { rows: emails } = await db.pool.query<{ status: string }>('SELECT status FROM emails WHERE developer_id = $1', [id]);
    expect(emails).toEqual([{ status: 'failed' }]);
  });

  it('records a send given up on as its own skipped decision, and the journey goes on', async () => {
    await applyRules({ quietHours: { start: '00:00', end: '00:00' } }, 'a template that does not exist', (doc) => {
      const rule = doc.rules.find((r: { id: string }) => r.id === 'first-call-help');
      rule.action = { send: 'no-such-template' };
    });
    const id = await developer();
    const now = await env.currentTimeMs();
    await signal(id, [signup(id, now), key(id, now)]);
    await env.sleep(25 * HOUR);
    await settle();
    const { rows } = await db.pool.query<{ decision_key: string; outcome: string; reason: string | null }>(
      'SELECT decision_key, outcome, reason FROM nudge_decisions WHERE developer_id = $1 ORDER BY id',
      [id],
    );
    expect(rows).toEqual([{ decision_key: `${id}/1/failed`, outcome: 'skipped', reason: expect.stringMatching(/^send_failed: .*no-such-template/) }]);
    expect(mailTo(id)).toHaveLength(0);
    // The next rule still decides (and sends) on schedule.
    await applyRules({ quietHours: { start: '00:00', end: '00:00' } }, 'the shipped templates again');
    await env.sleep(48 * HOUR);
    await settle();
    expect((await mailArrives(id, 1)).map((m) => m.subject)).toEqual(['Still no API call? Here is what usually blocks it']);
  });
});
