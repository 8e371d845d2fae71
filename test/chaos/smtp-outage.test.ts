import { createServer, type Server, type Socket } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { holdoutBucket } from '../../src/journey/nudging.ts';
import { smtpMailer } from '../../src/mail/mailer.ts';
import { eventually } from '../support/eventually.ts';
import { immediateRules, startJourneySandbox, type JourneySandbox } from '../support/journey-sandbox.ts';
import { databaseBackends } from '../support/test-databases.ts';
import { freePort } from '../../src/temporal/free-port.ts';

/**
 * Chaos: the SMTP relay failing for a while — connections refused, 451 (try later), 550 on the
 * recipient, a server that accepts the connection and never greets (a timeout) — then
 * recovering. The real workflow under the time-skipping server keeps retrying the send with
 * backoff; once the relay is back the nudge is delivered exactly once.
 */

const HOUR = 3_600_000;
const MINUTE = 60_000;
const taskQueue = 'smtp-chaos';
type Mode = 'ok' | 'refuse' | 'tempfail' | 'reject' | 'silent' | 'drop';

/** A local SMTP relay whose behaviour the test switches; the same port throughout. */
class FlakyRelay {
  readonly received: ParsedMail[] = [];
  /** Connections (or attempts) met per failure mode. */
  readonly faults: Record<Exclude<Mode, 'ok'>, number> = { refuse: 0, tempfail: 0, reject: 0, silent: 0, drop: 0 };
  private smtp: SMTPServer | undefined;
  private silent: Server | undefined;
  private readonly sockets = new Set<Socket>();
  mode: Mode = 'ok';

  constructor(readonly port: number) {}

  async set(mode: Mode): Promise<void> {
    await this.close();
    this.mode = mode;
    if (mode === 'refuse') return;
    if (mode === 'silent') {
      this.silent = createServer((socket) => {
        this.faults.silent++;
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
      });
      await new Promise<void>((resolve) => this.silent!.listen(this.port, '127.0.0.1', resolve));
      return;
    }
    this.smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onRcptTo: (_address, _session, callback) => {
        if (this.mode !== 'reject') return callback();
        this.faults.reject++;
        callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      },
      onData: (stream, session, callback) => {
        if (this.mode === 'tempfail') {
          this.faults.tempfail++;
          stream.resume();
          stream.on('end', () => callback(Object.assign(new Error('try again later'), { responseCode: 451 })));
          return;
        }
        simpleParser(stream).then((mail) => {
          this.received.push(mail);
          if (this.mode !== 'drop') return callback();
          // A relay that crashed after taking the message: the connection ends with no answer to DATA.
          this.faults.drop++;
          const connections = (this.smtp as unknown as { connections: Set<{ session: unknown; _socket?: { destroy(): void } }> }).connections;
          for (const c of connections) if (c.session === session) c._socket?.destroy();
        }, callback);
      },
    });
    await new Promise<void>((resolve) => this.smtp!.listen(this.port, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (this.silent) await new Promise<void>((resolve) => this.silent!.close(() => resolve()));
    if (this.smtp) await new Promise<void>((resolve) => this.smtp!.close(resolve));
    this.silent = undefined;
    this.smtp = undefined;
  }

  to(developerId: string): ParsedMail[] {
    return this.received.filter((m) => (Array.isArray(m.to) ? m.to : [m.to]).some((to) => to?.text.includes(`${developerId}@`)));
  }
}

let sandbox: JourneySandbox;
let env: TestWorkflowEnvironment;
let db: Database;
let relay: FlakyRelay;

beforeAll(async () => {
  relay = new FlakyRelay(await freePort());
});

afterAll(async () => {
  await relay?.close();
});

let developers = 0;
async function stalledDeveloper(): Promise<string> {
  let id: string;
  do id = `dev_smtp_${developers++}`;
  while (holdoutBucket(id) < 1000);
  await db.pool.query(`INSERT INTO developers (id, email, account_type, acquisition_channel, timezone) VALUES ($1, $2, 'individual', 'paid', 'UTC')`, [id, `${id}@example.com`]);
  const now = await env.currentTimeMs();
  const iso = (ms: number) => new Date(ms).toISOString();
  await sandbox.signal(id, [
    { id: `${id}-signup`, type: 'developer.signed_up', occurredAt: iso(now - HOUR), properties: { accountType: 'individual', acquisitionChannel: 'paid', timezone: 'UTC' } },
    { id: `${id}-key`, type: 'api_key.created', occurredAt: iso(now), properties: { mode: 'test' } },
  ]);
  return id;
}

const emailRows = async (id: string) => (await db.pool.query<{ status: string }>('SELECT status FROM emails WHERE developer_id = $1', [id])).rows;
const sentDecisions = async (id: string) => (await db.pool.query('SELECT 1 FROM nudge_decisions WHERE developer_id = $1 AND outcome = $2', [id, 'sent'])).rows.length;

describe.each(databaseBackends())('chaos: the SMTP relay fails for a while, then recovers (%s)', (backend) => {
  beforeAll(async () => {
    sandbox = await startJourneySandbox({
      backend,
      taskQueue,
      // One nudge per developer, so each test's faults are its own developer's attempts.
      rules: immediateRules((doc) => (doc.rules = doc.rules.filter((rule: { id: string }) => rule.id === 'first-call-help'))),
      // Short socket timeouts, so a relay that never greets fails an attempt in a second, not in 30 s.
      nudges: { mailer: smtpMailer(`smtp://127.0.0.1:${relay.port}?connectionTimeout=1000&greetingTimeout=1000&socketTimeout=2000`) },
    });
    ({ env, db } = sandbox);
  }, 120_000);

  afterAll(async () => {
    await sandbox?.close();
  });

  const outcome: string[] = [];
  afterAll(() => console.log(`chaos/smtp: ${outcome.join('; ')}`));

  for (const mode of ['refuse', 'tempfail', 'reject', 'silent'] as const) {
    it(`${mode}: retried with backoff while it fails; delivered exactly once when it is back`, async () => {
      const id = await stalledDeveloper();
      await relay.set(mode);
      const before = relay.faults[mode];
      // first-call-help falls due 24 h after the key; the relay fails for the 30 minutes after.
      await env.sleep(24 * HOUR + 30 * MINUTE);
      expect(relay.to(id)).toHaveLength(0);
      expect(await sentDecisions(id)).toBe(0);
      const faults = relay.faults[mode] - before;
      if (mode !== 'refuse') expect(faults).toBeGreaterThanOrEqual(3); // attempts really met the fault, and were retried
      await relay.set('ok');
      await env.sleep(15 * MINUTE); // the backoff reaches at most 10 minutes
      await eventually(async () => ({ delivered: relay.to(id).length, sent: await sentDecisions(id) }), {
        until: (seen) => seen.delivered > 0 && seen.sent > 0,
        describe: `the nudge to ${id} delivered and recorded as sent`,
      });
      await env.sleep(2 * HOUR); // nothing more to come for this nudge
      expect(relay.to(id)).toHaveLength(1);
      expect(relay.to(id)[0]!.subject).toBeTruthy();
      expect(await emailRows(id)).toEqual([{ status: 'sent' }]);
      expect(await sentDecisions(id)).toBe(1);
      outcome.push(`${mode}: ${mode === 'refuse' ? 'refused for 30 min' : `${faults} failed attempts`}, delivered 1, lost 0, duplicated 0`);
    });
  }

  it('drop: the relay takes the whole message, then the connection ends before its answer — never sent twice, recorded as unconfirmed', async () => {
    const id = await stalledDeveloper();
    const dropsBefore = relay.faults.drop;
    await relay.set('drop');
    await env.sleep(24 * HOUR + 30 * MINUTE);
    await relay.set('ok');
    await env.sleep(2 * HOUR);
    await eventually(() => sentDecisions(id), { until: (sent) => sent > 0, describe: `the nudge to ${id} recorded as sent` });
    // The relay has it once; the retry did not send it again (it cannot know the relay took it).
    expect(relay.faults.drop - dropsBefore).toBe(1);
    expect(relay.to(id)).toHaveLength(1);
    expect(await emailRows(id)).toEqual([{ status: 'sending' }]);
    const { rows } = await db.pool.query<{ reason: string | null }>(`SELECT reason FROM nudge_decisions WHERE developer_id = $1 AND outcome = 'sent'`, [id]);
    expect(rows).toEqual([{ reason: 'unconfirmed: interrupted after the handoff to the mail server began' }]);
    outcome.push('drop after the message: delivered 1 (recorded unconfirmed), lost 0, duplicated 0');
  });
});
