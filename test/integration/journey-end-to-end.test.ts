import { MACHINE_VERSION } from '../../src/journey/journey-versions.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { OnrampHarness } from '../support/onramp-harness.ts';
import { databaseBackends } from '../support/test-databases.ts';

const at = (day: number, hour = 0, minute = 0) => new Date(Date.UTC(2026, 10, day, hour, minute)).toISOString();

const signup = (id: string, developerId: string, occurredAt: string) => ({
  id,
  type: 'developer.signed_up',
  developerId,
  occurredAt,
  properties: { email: `${developerId}@example.com`, accountType: 'organization', orgId: 'org_1', acquisitionChannel: 'listing_site', timezone: 'Europe/Berlin' },
});
const request = (id: string, apiKey: string, endpoint: string, occurredAt: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'api.request',
  occurredAt,
  properties: { apiKey, endpoint, method: 'GET', status: 200, mode: 'test', userAgent: 'curl/8.5.0', ...extra },
});
const reached = (journey: any, stage: string) => journey.stages.find((s: any) => s.stage === stage)?.status === 'reached';

describe.each(databaseBackends())('the durable journey end to end (%s)', (backend) => {
  let h: OnrampHarness;
  const dev = (name: string) => `${backend}_${name}`;

  beforeAll(async () => {
    h = await new OnrampHarness(backend).start();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('answers /healthz with ok when the database and Temporal are reachable', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('answers /healthz 503 (database) while events cannot be stored, though the database still answers reads', async () => {
    // A statement-level trigger fires for an insert of no rows: the database refuses every write to events.
    await h.db.pool.query(`CREATE FUNCTION refuse_writes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'read-only' USING ERRCODE = '25006'; END $$`);
    await h.db.pool.query(`CREATE TRIGGER refuse_writes BEFORE INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION refuse_writes()`);
    try {
      expect((await h.db.pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      const response = await h.app.inject({ method: 'GET', url: '/healthz' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ status: 'unavailable', unreachable: ['database'] });
    } finally {
      await h.db.pool.query('DROP TRIGGER refuse_writes ON events; DROP FUNCTION refuse_writes()');
    }
    const after = await h.app.inject({ method: 'GET', url: '/healthz' });
    expect(after.json()).toEqual({ status: 'ok' });
  });

  it('takes a scripted developer from docs to production, one transition row per stage', async () => {
    const id = dev('ada');
    const steps: [unknown[], string][] = [
      [[{ id: `${id}-1`, type: 'docs.viewed', developerId: id, occurredAt: at(1, 9), properties: { path: '/docs/quickstart' } }], 'intent'],
      [[signup(`${id}-2`, id, at(1, 10))], 'account_created'],
      [[{ id: `${id}-3`, type: 'api_key.created', developerId: id, occurredAt: at(1, 10, 5), properties: { apiKey: `key_${id}`, mode: 'test' } }], 'credential_provisioned'],
      [[request(`${id}-4`, `key_${id}`, '/v1/charges', at(1, 10, 30), { status: 401 }), request(`${id}-5`, `key_${id}`, '/v1/charges', at(1, 10, 40))], 'first_api_call'],
      [[{ id: `${id}-6`, type: 'quickstart.completed', developerId: id, occurredAt: at(1, 11) }], 'first_integration_milestone'],
      [[request(`${id}-7`, `key_${id}`, '/v1/customers', at(1, 12), { userAgent: 'acme-node/4.2.0' })], 'active_integration'],
      [
        [{ id: `${id}-8`, type: 'webhook.registered', developerId: id, occurredAt: at(9), properties: { url: 'https://ada.example.com/hook', mode: 'live' } }],
        'production_deployment',
      ],
    ];
    for (const [events, stage] of steps) {
      const response = await h.post({ events });
      expect(response.statusCode, response.body).toBe(202);
      await h.waitForJourney(id, (j) => j.stage === stage);
    }
    const journey = await h.waitForJourney(id, (j) => j.transitions.length === 7);
    expect(journey.stages.every((s: any) => s.status === 'reached')).toBe(true);
    expect(journey.stages.find((s: any) => s.stage === 'first_api_call')).toMatchObject({ at: at(1, 10, 40), causeEventId: `${id}-5` });
    expect(journey.stages.find((s: any) => s.stage === 'active_integration')).toMatchObject({ at: at(1, 12), causeEventId: `${id}-7` });
    expect(journey.transitions.map((t: any) => t.to)).toEqual([
      'intent',
      'account_created',
      'credential_provisioned',
      'first_api_call',
      'first_integration_milestone',
      'active_integration',
      'production_deployment',
    ]);
    expect(journey.transitions[0]).toMatchObject({ from: null, machineVersion: MACHINE_VERSION, causeEventId: `${id}-1` });
    expect(journey.running).toBe(true);
    expect(journey.profile).toMatchObject({ accountType: 'organization', orgId: 'org_1', acquisitionChannel: 'listing_site', timezone: 'Europe/Berlin', signedUpAt: at(1, 10) });
    expect(journey.requests).toMatchObject({ total: 3, ok: 2, status401: 1, sdk: 1, raw: 2, distinctEndpoints: 2 });
    expect(journey).not.toHaveProperty('email');
  });

  it('stores a request whose key is unknown, and attributes it when the key creation arrives', async () => {
    const id = dev('late_key');
    const early = await h.post(request(`${id}-r1`, `key_${id}`, '/v1/things', at(2, 8)));
    expect(early.json()).toEqual({ accepted: 1, duplicates: 0, unattributed: 1, deleted: 0 });
    expect((await h.journey(id)).status).toBe(404);
    await h.post({
      events: [
        signup(`${id}-s`, id, at(2, 7)),
        { id: `${id}-k`, type: 'api_key.created', developerId: id, occurredAt: at(2, 7, 30), properties: { apiKey: `key_${id}`, mode: 'live' } },
      ],
    });
    const journey = await h.waitForJourney(id, (j) => j.stage === 'first_api_call');
    expect(journey.stages.find((s: any) => s.stage === 'first_api_call')).toMatchObject({ at: at(2, 8), causeEventId: `${id}-r1` });
    expect(journey.requests.total).toBe(1);
  });

  it('needs two endpoints within 24 hours for active integration, and fills in late, out-of-order evidence', async () => {
    const id = dev('spread');
    await h.post({
      events: [signup(`${id}-s`, id, at(3)), { id: `${id}-k`, type: 'api_key.created', developerId: id, occurredAt: at(3, 1), properties: { apiKey: `key_${id}`, mode: 'test' } }],
    });
    await h.post(request(`${id}-a`, `key_${id}`, '/v1/a', at(3, 2)));
    await h.post(request(`${id}-b`, `key_${id}`, '/v1/b', at(4, 3))); // 25 h later: not active
    await h.waitForJourney(id, (j) => j.stage === 'first_api_call' && j.requests.total === 2 && j.pendingSignals === 0);
    // A late gateway line between them pairs with both; the proof is the pair's later call.
    await h.post(request(`${id}-c`, `key_${id}`, '/v1/c', at(3, 20)));
    const journey = await h.waitForJourney(id, (j) => j.stage === 'active_integration');
    expect(journey.stages.find((s: any) => s.stage === 'active_integration')).toMatchObject({ at: at(3, 20), causeEventId: `${id}-c` });
    // Late docs view before signup: intent filled in, stage does not move back.
    await h.post({ id: `${id}-d`, type: 'docs.viewed', developerId: id, occurredAt: at(2) });
    const filled = await h.waitForJourney(id, (j) => reached(j, 'intent'));
    expect(filled.stage).toBe('active_integration');
    expect(filled.stages.find((s: any) => s.stage === 'intent')).toMatchObject({ status: 'reached', at: at(2), late: true });
    expect(filled.stages.find((s: any) => s.stage === 'first_integration_milestone')?.status).toBe('skipped');
  });

  it('applies the milestones one batch proves in funnel order: none is late for having been queued second', async () => {
    const id = dev('one_batch');
    await h.post({
      events: [signup(`${id}-s`, id, at(5)), { id: `${id}-k`, type: 'api_key.created', developerId: id, occurredAt: at(5, 1), properties: { apiKey: `key_${id}`, mode: 'test' } }],
    });
    // First call, second endpoint and first live call in one gateway batch.
    await h.post({
      events: [
        request(`${id}-a`, `key_${id}`, '/v1/a', at(5, 2)),
        request(`${id}-b`, `key_${id}`, '/v1/b', at(5, 3)),
        request(`${id}-c`, `key_${id}`, '/v1/b', at(5, 4), { mode: 'live' }),
      ],
    });
    const journey = await h.waitForJourney(id, (j) => j.stage === 'production_deployment' && j.pendingSignals === 0);
    for (const stage of ['first_api_call', 'active_integration', 'production_deployment']) {
      expect(journey.stages.find((s: any) => s.stage === stage)).toMatchObject({ status: 'reached' });
      expect(journey.stages.find((s: any) => s.stage === stage).late).toBeUndefined();
    }
  });

  it('hears one chronological batch in event order: domain events and milestones merged, a transition into each stage, none late', async () => {
    const id = dev('history');
    const response = await h.post({
      events: [
        signup(`${id}-s`, id, at(7, 9)),
        { id: `${id}-k`, type: 'api_key.created', developerId: id, occurredAt: at(7, 10), properties: { apiKey: `key_${id}`, mode: 'test' } },
        request(`${id}-r`, `key_${id}`, '/v1/a', at(7, 11)),
        { id: `${id}-q`, type: 'quickstart.completed', developerId: id, occurredAt: at(7, 12) },
      ],
    });
    expect(response.statusCode, response.body).toBe(202);
    const journey = await h.waitForJourney(id, (j) => j.stage === 'first_integration_milestone' && j.pendingSignals === 0);
    expect(journey.transitions.map((t: any) => [t.from, t.to])).toEqual([
      [null, 'account_created'],
      ['account_created', 'credential_provisioned'],
      ['credential_provisioned', 'first_api_call'],
      ['first_api_call', 'first_integration_milestone'],
    ]);
    for (const stage of ['account_created', 'credential_provisioned', 'first_api_call', 'first_integration_milestone']) {
      expect(journey.stages.find((s: any) => s.stage === stage)).toMatchObject({ status: 'reached' });
      expect(journey.stages.find((s: any) => s.stage === stage).late).toBeUndefined();
    }
  });

  it('treats a duplicated event as harmless: counted as duplicate, nothing changes', async () => {
    const id = dev('dup');
    const event = signup(`${id}-s`, id, at(5));
    expect((await h.post(event)).json()).toEqual({ accepted: 1, duplicates: 0, unattributed: 0, deleted: 0 });
    await h.waitForJourney(id, (j) => j.stage === 'account_created');
    const events = await h.count('events');
    const again = await h.post({ events: [event, event] });
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual({ accepted: 0, duplicates: 2, unattributed: 0, deleted: 0 });
    expect(await h.count('events')).toBe(events);
    const journey = await h.waitForJourney(id, (j) => j.pendingSignals === 0);
    expect(journey.transitions).toHaveLength(1);
  });

  it('treats a stored id under other data as a duplicate: no developer, key mapping or journey comes of it', async () => {
    const id = dev('dup_owner');
    const other = dev('dup_other');
    const key = { id: `${id}-k`, type: 'api_key.created', developerId: id, occurredAt: at(5, 1), properties: { apiKey: `key_${id}`, mode: 'test' } };
    expect((await h.post({ events: [signup(`${id}-s`, id, at(5)), key] })).json()).toMatchObject({ accepted: 2 });
    const again = await h.post({ events: [{ ...signup(`${id}-s`, other, at(5)) }, { ...key, developerId: other, properties: { apiKey: `key_${other}`, mode: 'test' } }] });
    expect(again.json()).toEqual({ accepted: 0, duplicates: 2, unattributed: 0, deleted: 0 });
    expect((await h.journey(other)).status).toBe(404);
    expect(await h.prisma.developer.findUnique({ where: { id: other } })).toBeNull();
    // The duplicate's key stays unknown: a request made with it waits for its real creation.
    expect((await h.post(request(`${other}-r`, `key_${other}`, '/v1/a', at(5, 2)))).json()).toMatchObject({ accepted: 1, unattributed: 1 });
  });

  describe('bad input gets its documented status and stores nothing', () => {
    const good = (n: number) => signup(`${backend}-bad-${n}`, `${backend}-bad-dev`, at(6));
    const cases: [string, () => Promise<{ statusCode: number; json(): any }>, number, ((body: any) => void)?][] = [
      ['no key', () => h.post(good(1), { authorization: '' }), 401],
      ['a wrong key', () => h.post(good(1), { authorization: 'Bearer nope-nope-nope-nope' }), 401],
      ['malformed JSON', () => h.post('{"events": [', {}), 400],
      ['not JSON', () => h.post('hello', { 'content-type': 'text/plain' }), 415],
      ['an empty batch', () => h.post({ events: [] }), 400, (b) => expect(b.errors[0].path).toBe('events')],
      [
        'one invalid event among valid ones',
        () => h.post({ events: [good(1), { ...good(2), properties: { ...good(2).properties, email: 'not-an-email' } }, good(3)] }),
        400,
        (b) => expect(b.errors).toEqual([{ index: 1, path: 'properties.email', message: expect.any(String) }]),
      ],
      ['a malformed event type', () => h.post({ ...good(1), type: 'Developer Teleported' }), 400, (b) => expect(b.errors[0]).toMatchObject({ index: 0, path: 'type' })],
      ['a bad timestamp', () => h.post({ ...good(1), occurredAt: 'yesterday' }), 400, (b) => expect(b.errors[0]).toMatchObject({ index: 0, path: 'occurredAt' })],
      [
        'a bad time zone',
        () => h.post({ ...good(1), properties: { ...good(1).properties, timezone: 'Mars/Olympus' } }),
        400,
        (b) => expect(b.errors[0].path).toBe('properties.timezone'),
      ],
      [
        'a request with neither developer nor key',
        () => h.post({ id: 'x', type: 'api.request', occurredAt: at(6), properties: { endpoint: '/v1/a', method: 'GET', status: 200, mode: 'test' } }),
        400,
        (b) => expect(b.errors[0]).toMatchObject({ index: 0, path: 'developerId' }),
      ],
      ['over 1,000 events', () => h.post({ events: Array.from({ length: 1001 }, (_, i) => good(i)) }), 413],
      ['over 1 MiB', () => h.post({ events: [{ ...good(1), properties: { ...good(1).properties, note: 'x'.repeat(1024 * 1024) } }] }), 413],
    ];
    it.each(cases)('%s', async (_name, send, status, check) => {
      // Earlier tests' signals are still being delivered (slower on the production server): wait
      // until the dispatcher has drained them, so that any row the bad request added would show.
      await eventually(() => h.count('outbox_signals'), { until: (n) => n === 0, describe: "the outbox drained of earlier tests' signals" });
      const before = await h.count('events');
      const response = await send();
      expect(response.statusCode).toBe(status);
      const body = response.json();
      expect(body.errors.length).toBeGreaterThan(0);
      check?.(body);
      expect(await h.count('events')).toBe(before);
      expect(await h.count('outbox_signals')).toBe(0);
    });

    it('404s an unknown developer', async () => {
      expect((await h.journey('nobody')).status).toBe(404);
    });
  });

  it('loses no signal while Temporal is down: 503 health, events stored, delivered after it returns', async () => {
    const id = dev('outage');
    await h.stopTemporal();
    const response = await h.post(signup(`${id}-s`, id, at(7)));
    expect(response.statusCode).toBe(202);
    const health = await h.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(503);
    expect(health.json()).toEqual({ status: 'unavailable', unreachable: ['temporal'] });
    // The signup, the first event of its type (event.seen), and its proof of account_created.
    expect(await h.count(`outbox_signals WHERE developer_id = '${id}'`)).toBe(3);
    // The read model still answers, saying what it cannot know.
    const meanwhile = await h.journey(id);
    expect(meanwhile.status).toBe(200);
    expect(meanwhile.body).toMatchObject({ stage: null, pendingSignals: 3, running: false, warnings: [expect.stringContaining('Temporal is unreachable')] });
    await h.startTemporal();
    const journey = await h.waitForJourney(id, (j) => j.stage === 'account_created' && j.pendingSignals === 0, 90_000);
    expect(journey.transitions).toHaveLength(1);
  }, 120_000);
});
