import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journeyWorkflowId } from '../../workflows/journey-messages.ts';
import { eventually } from '../support/eventually.ts';
import { ADMIN_KEY, INGEST_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { databaseBackends } from '../support/test-databases.ts';

/** DELETE /v1/developers/:id against the real stack: the journey ends, personal data goes, metric rows stay. */
describe.each(databaseBackends())('deleting a developer (%s)', (backend) => {
  let h: OnrampHarness;
  const id = `${backend}-grace`;
  const now = Date.now();
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
  const events = [
    {
      id: `${id}-1`,
      type: 'developer.signed_up',
      developerId: id,
      occurredAt: at(60),
      properties: { email: 'grace@example.com', accountType: 'individual', acquisitionChannel: 'paid', timezone: 'Europe/London', name: 'Grace H.' },
    },
    { id: `${id}-2`, type: 'api_key.created', developerId: id, occurredAt: at(50), properties: { apiKey: `key_${id}`, mode: 'test' } },
    {
      id: `${id}-3`,
      type: 'api.request',
      occurredAt: at(40),
      properties: { apiKey: `key_${id}`, endpoint: '/v1/charges', method: 'POST', status: 200, mode: 'test', userAgent: 'curl/8.5.0 (grace-laptop)' },
    },
    { id: `${id}-4`, type: 'support.ticket_created', developerId: id, occurredAt: at(30), properties: { subject: 'Grace cannot call /v1/charges' } },
  ];
  /** Temporal deletes asynchronously: waits until the journey is gone. */
  const journeyGone = (developerId = id) =>
    eventually(
      () =>
        h.temporal.workflow
          .getHandle(journeyWorkflowId(developerId))
          .describe()
          .then(
            () => false,
            (error: unknown) => (error instanceof WorkflowNotFoundError ? true : Promise.reject(error)),
          ),
      {
        until: (gone) => gone,
        describe: `the journey of ${developerId} deleted from Temporal`,
      },
    );
  const del = (query: string, key = ADMIN_KEY) => h.app.inject({ method: 'DELETE', url: `/v1/developers/${id}${query}`, headers: { authorization: `Bearer ${key}` } });

  beforeAll(async () => {
    h = await new OnrampHarness(backend).start();
    expect((await h.post({ events })).statusCode).toBe(202);
    await h.waitForJourney(id, (j) => j.stage === 'first_api_call' && j.handoffs.length === 1);
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('refuses without the admin key or with a blank author, and answers 404 for an unknown developer', async () => {
    expect((await del('?author=ops', INGEST_KEY)).statusCode).toBe(401);
    const blankAuthor = await del('?author=%20');
    expect(blankAuthor.statusCode).toBe(400);
    expect(blankAuthor.json().errors[0].path).toBe('author');
    const unknown = await h.app.inject({ method: 'DELETE', url: '/v1/developers/nobody?author=ops', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(unknown.statusCode).toBe(404);
    expect(await h.count('developer_deletions')).toBe(0);
  });

  it('ends the journey and deletes its history, removes the personal data, closes the open case, keeps the metric rows, and audits it', async () => {
    const stagesBefore = await h.count('journey_stages');
    const response = await del('?author=dpo%40example.com&reason=GDPR%20request%2042');
    expect(response.statusCode, response.body).toBe(200);
    // The signup (email, time zone, name), the request (user agent), the ticket (subject); the key event had nothing personal.
    expect(response.json()).toMatchObject({ developerId: id, alreadyDeleted: false, redacted: { events: 3 }, closedCases: [`${id}.h1`] });

    await journeyGone();
    const { rows: developer } = await h.db.pool.query('SELECT email, timezone, account_type, acquisition_channel, stage FROM developers WHERE id = $1', [id]);
    expect(developer[0]).toEqual({ email: null, timezone: null, account_type: 'individual', acquisition_channel: 'paid', stage: 'first_api_call' });
    const { rows: stored } = await h.db.pool.query('SELECT id, properties FROM events WHERE developer_id = $1 ORDER BY id', [id]);
    const text = JSON.stringify(stored);
    for (const personal of ['grace@example.com', 'Grace H.', 'grace-laptop', 'Grace cannot', 'Europe/London']) expect(text).not.toContain(personal);
    expect(stored[0].properties).toEqual({ accountType: 'individual', acquisitionChannel: 'paid' });
    expect(stored[2].properties).toEqual({ apiKey: `key_${id}`, endpoint: '/v1/charges', method: 'POST', status: 200, mode: 'test' });
    // The anonymous rows the metrics count are all still there; the case keeps its timings, not the ticket's words.
    expect(await h.count('journey_stages')).toBe(stagesBefore);
    const { rows: cases } = await h.db.pool.query('SELECT criterion, view FROM handoffs WHERE developer_id = $1', [id]);
    expect(cases[0].criterion).toBe('support_ticket');
    expect(cases[0].view).toMatchObject({ status: 'resolved', outcome: 'developer_deleted' });
    expect(JSON.stringify(cases[0].view)).not.toContain('Grace');
    const audit = await h.app.inject({ method: 'GET', url: `/v1/audit?action=developer.deleted&subject=${id}`, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(audit.json().entries).toEqual([expect.objectContaining({ actor: 'dpo@example.com', action: 'developer.deleted', subject: id, reason: 'GDPR request 42' })]);
  });

  it('stores nothing more of theirs, and a second delete changes nothing', async () => {
    // Deleted (here, or already by the test before).
    expect((await del('?author=dpo%40example.com&reason=GDPR%20request%2042')).statusCode).toBe(200);
    const later = [
      {
        id: `${id}-5`,
        type: 'api.request',
        occurredAt: at(1),
        properties: { apiKey: `key_${id}`, endpoint: '/v1/refunds', method: 'POST', status: 200, mode: 'live', userAgent: 'curl/8.5.0' },
      },
      { id: `${id}-6`, type: 'developer.email_verified', developerId: id, occurredAt: at(1) },
    ];
    const response = await h.post({ events: later });
    expect(response.json()).toEqual({ accepted: 0, duplicates: 0, unattributed: 0, deleted: 2 });
    expect((await h.db.pool.query('SELECT count(*)::int AS n FROM events WHERE id = ANY($1)', [[`${id}-5`, `${id}-6`]])).rows[0].n).toBe(0);
    expect((await h.db.pool.query('SELECT count(*)::int AS n FROM outbox_signals WHERE developer_id = $1', [id])).rows[0].n).toBe(0);
    // No new run was started for them.
    await journeyGone();

    const again = await del('?author=dpo%40example.com');
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ alreadyDeleted: true, redacted: { events: 0, emails: 0, handoffSteps: 0, notes: 0, nudgeDecisions: 0 }, closedCases: [] });
    expect((await h.db.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'developer.deleted' AND subject = $1`, [id])).rows[0].n).toBe(1);
  });

  it('records the key as the author when the request names none: "admin" for the admin key', async () => {
    const other = `${backend}-ada`;
    expect(
      (
        await h.post({
          id: `${other}-1`,
          type: 'developer.signed_up',
          developerId: other,
          occurredAt: at(5),
          properties: { email: 'ada@example.com', accountType: 'individual', acquisitionChannel: 'paid' },
        })
      ).statusCode,
    ).toBe(202);
    await h.waitForJourney(other, (j) => j.stage === 'account_created');
    const response = await h.app.inject({ method: 'DELETE', url: `/v1/developers/${other}`, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(response.statusCode, response.body).toBe(200);
    expect((await h.db.pool.query('SELECT deleted_by FROM developer_deletions WHERE developer_id = $1', [other])).rows).toEqual([{ deleted_by: 'admin' }]);
    expect((await h.db.pool.query(`SELECT actor FROM audit_log WHERE action = 'developer.deleted' AND subject = $1`, [other])).rows).toEqual([{ actor: 'admin' }]);
  });

  it('answers 503 while Temporal is down, having removed the data; the retry deletes the journey', async () => {
    const other = `${id}-2`;
    const signup = {
      id: `${other}-1`,
      type: 'developer.signed_up',
      developerId: other,
      occurredAt: at(5),
      properties: { email: 'ada@example.com', accountType: 'individual', acquisitionChannel: 'paid', timezone: 'Asia/Kathmandu' },
    };
    expect((await h.post({ events: [signup] })).statusCode).toBe(202);
    await h.waitForJourney(other, (j) => j.stage === 'account_created');
    await h.stopTemporal();
    let first;
    try {
      first = await h.app.inject({ method: 'DELETE', url: `/v1/developers/${other}?author=ops`, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    } finally {
      await h.startTemporal();
    }
    expect(first.statusCode, first.body).toBe(503);
    expect(first.headers['retry-after']).toBe('5');
    const { rows } = await h.db.pool.query('SELECT email, timezone FROM developers WHERE id = $1', [other]);
    expect(rows[0]).toEqual({ email: null, timezone: null });
    const retry = await h.app.inject({ method: 'DELETE', url: `/v1/developers/${other}?author=ops`, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(retry.statusCode, retry.body).toBe(200);
    expect(retry.json()).toMatchObject({ alreadyDeleted: true });
    await journeyGone(other);
  }, 180_000);
});
