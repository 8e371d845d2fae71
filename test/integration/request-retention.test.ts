import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { ingestEvent } from '../../src/events/event-schemas.ts';
import { EventIngestor } from '../../src/ingest/event-ingestor.ts';
import { firstSessionErrors } from '../../src/metrics/first-session-errors.ts';
import { applyRetention } from '../../src/retention/apply-retention.ts';
import { dayOf, monthPartition, rangePartitions, REQUEST_MONTHS } from '../../src/retention/partitions.ts';
import { DEFAULT_RAW_REQUEST_WINDOW } from '../../src/retention/raw-request-window.ts';
import { openMigratedDatabase, type MigratedDatabase } from '../support/migrated-database.ts';
import { databaseBackends } from '../support/test-databases.ts';

const DAY = 86_400_000;
const now = new Date();
// Signed up 200 days ago: the raw-request window (90 days after signup) ended 110 days ago.
const signup = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - 200 * DAY;
const at = (days: number, hours = 0) => new Date(signup + days * DAY + hours * 3_600_000).toISOString();

describe.each(databaseBackends())('storage bounded by onboarding (%s)', (backend) => {
  let database: MigratedDatabase;
  let db: Database;
  let ingestor: EventIngestor;

  beforeAll(async () => {
    database = await openMigratedDatabase(backend);
    ({ db } = database);
    ingestor = new EventIngestor(db.pool);
  });
  afterAll(async () => {
    await database?.close();
  });

  const ingest = (events: unknown[]) => ingestor.ingest(events.map((e) => ingestEvent.parse(e)));
  const query = async <R extends object>(text: string, values: unknown[] = []) => (await db.pool.query<R>(text, values)).rows;

  function developer(id: string) {
    let n = 0;
    return {
      id,
      start: [
        {
          id: `${id}-signup`,
          type: 'developer.signed_up',
          developerId: id,
          occurredAt: at(0),
          properties: { email: `${id}@example.com`, accountType: 'individual', acquisitionChannel: 'organic_search' },
        },
        { id: `${id}-key`, type: 'api_key.created', developerId: id, occurredAt: at(0, 1), properties: { apiKey: `key_${id}`, mode: 'test' } },
      ],
      request: (days: number, hours: number, status = 200, endpoint = '/v1/charges') => ({
        id: `${id}-r${n++}`,
        type: 'api.request',
        occurredAt: at(days, hours),
        properties: { apiKey: `key_${id}`, endpoint, method: 'GET', status, mode: 'test', userAgent: 'curl/8.5.0' },
      }),
    };
  }

  const rawRequests = async (developerId: string) =>
    Number((await query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE developer_id = $1 AND type = 'api.request'`, [developerId]))[0]!.n);
  const rolledUp = async (developerId: string) =>
    Number((await query<{ n: string | null }>(`SELECT sum(requests) AS n FROM request_rollups WHERE developer_id = $1`, [developerId]))[0]!.n ?? 0);
  const totals = async (developerId: string) =>
    Number((await query<{ n: string }>(`SELECT sum(requests) AS n FROM developer_endpoints WHERE developer_id = $1`, [developerId]))[0]!.n);

  const ada = developer(`${backend}_ada`);
  const bob = developer(`${backend}_bob`);

  it('stores requests raw within the window and only counts them past it, refusing duplicates either way', async () => {
    await ingest([...ada.start, ...bob.start]);
    // Bob reached the funnel's final stage on day 5 (the journey's record): his window ends on day 35.
    await query(`UPDATE developers SET stage = 'production_deployment', stage_at = $2 WHERE id = $1`, [bob.id, at(5)]);

    const adaInWindow = [ada.request(0, 2, 401), ada.request(0, 3), ada.request(10, 0), ada.request(60, 0, 500), ada.request(89, 0)];
    const adaPast = [ada.request(95, 0), ada.request(95, 1, 404), ada.request(150, 0)];
    const bobInWindow = [bob.request(0, 2), bob.request(20, 0)];
    const bobPast = [bob.request(40, 0), bob.request(40, 5)];
    const first = await ingest([...adaInWindow, ...adaPast, ...bobInWindow, ...bobPast]);
    expect(first).toMatchObject({ accepted: 12, duplicates: 0 });

    expect(await rawRequests(ada.id)).toBe(5);
    expect(await rawRequests(bob.id)).toBe(2);
    expect(await query(`SELECT day::text, endpoint, status_class, sdk, requests FROM request_rollups WHERE developer_id = $1 ORDER BY day, status_class`, [ada.id])).toEqual([
      { day: at(95).slice(0, 10), endpoint: '/v1/charges', status_class: 2, sdk: false, requests: 1 },
      { day: at(95).slice(0, 10), endpoint: '/v1/charges', status_class: 4, sdk: false, requests: 1 },
      { day: at(150).slice(0, 10), endpoint: '/v1/charges', status_class: 2, sdk: false, requests: 1 },
    ]);
    expect(await rolledUp(bob.id)).toBe(2);
    // The lifetime totals count every request, raw or not.
    expect(await totals(ada.id)).toBe(8);
    expect(await totals(bob.id)).toBe(4);

    // Redelivered: the raw one, the counted one, a whole batch again.
    const again = await ingest([adaInWindow[2], adaPast[0], ...bobPast]);
    expect(again).toMatchObject({ accepted: 0, duplicates: 4 });
    expect(await rawRequests(ada.id)).toBe(5);
    expect(await rolledUp(ada.id)).toBe(3);
    expect(await rolledUp(bob.id)).toBe(2);
    expect(await totals(ada.id)).toBe(8);
  });

  it("stores a first session's requests kept at ingest, whatever order they arrive in, and the later ones by month", async () => {
    const dora = developer(`${backend}_dora`);
    await ingest(dora.start);
    const kept = async () =>
      (await query<{ id: string; kept: boolean }>(`SELECT id, kept FROM events WHERE developer_id = $1 AND type = 'api.request' ORDER BY occurred_at`, [dora.id])).map(
        (r) => `${r.id.slice(dora.id.length + 1)}:${r.kept ? 'kept' : 'month'}`,
      );
    // Day 1 arrives first: it is the first request known, so its day is a first session.
    const [day1, day3] = [dora.request(1, 0), dora.request(3, 0)];
    await ingest([day1, day3]);
    expect(await kept()).toEqual(['r0:kept', 'r1:month']);
    // The true first request arrives late: its 24 hours are kept; day 3 stays in its month.
    const [first, sameSession] = [dora.request(0, 5, 401), dora.request(0, 23)];
    await ingest([first, sameSession]);
    expect(await kept()).toEqual(['r2:kept', 'r3:kept', 'r0:kept', 'r1:month']);

    // A request made with a key whose creation has not arrived waits unattributed, by month; the
    // creation attributes it, and a first-session one moves to the kept events.
    const erin = developer(`${backend}_erin`);
    await ingest([erin.start[0]!, erin.request(0, 3), erin.request(4, 0)]);
    expect(await query(`SELECT kept FROM events WHERE id LIKE $1 ORDER BY occurred_at`, [`${erin.id}-r%`])).toEqual([{ kept: false }, { kept: false }]);
    await ingest([erin.start[1]!]);
    expect(await query(`SELECT developer_id, kept FROM events WHERE id LIKE $1 ORDER BY occurred_at`, [`${erin.id}-r%`])).toEqual([
      { developer_id: erin.id, kept: true },
      { developer_id: erin.id, kept: false },
    ]);
  });

  it('rolls up and drops the months every window has passed, keeping first sessions raw, idempotently', async () => {
    const asOf = new Date(now.getTime() + DAY);
    const errorsBefore = await firstSessionErrors(db.pool, { asOf });
    const report = await applyRetention(db.pool, { window: DEFAULT_RAW_REQUEST_WINDOW, firstCallStage: 'first_api_call', now });

    // The months of raw requests older than 90 days are gone; the month of now and two ahead exist.
    const cutoff = now.getTime() - DEFAULT_RAW_REQUEST_WINDOW.afterSignupMs;
    const months = await rangePartitions(db.pool, REQUEST_MONTHS);
    expect(months).toEqual(expect.arrayContaining([0, 1, 2].map((i) => monthPartition(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1))).name)));
    for (const name of months)
      expect(Date.parse(name.slice(-7).replace('_', '-') + '-01T00:00:00Z')).toBeGreaterThanOrEqual(
        Date.UTC(new Date(cutoff).getUTCFullYear(), new Date(cutoff).getUTCMonth() - 1, 1),
      );
    expect(report.dropped.length).toBeGreaterThan(0);

    // Ada: her first session (day 0) stays raw; days 10, 60 and 89 (all before the cutoff) are counted.
    expect(await query(`SELECT occurred_at, kept FROM events WHERE developer_id = $1 AND type = 'api.request' ORDER BY occurred_at`, [ada.id])).toEqual([
      { occurred_at: new Date(at(0, 2)), kept: true },
      { occurred_at: new Date(at(0, 3)), kept: true },
    ]);
    expect(await rolledUp(ada.id)).toBe(6);
    expect((await rawRequests(ada.id)) + (await rolledUp(ada.id))).toBe(await totals(ada.id));
    expect((await rawRequests(bob.id)) + (await rolledUp(bob.id))).toBe(await totals(bob.id));
    expect(await query(`SELECT day::text, status_class, requests FROM request_rollups WHERE developer_id = $1 AND day = $2::date`, [ada.id, at(60).slice(0, 10)])).toEqual([
      { day: at(60).slice(0, 10), status_class: 5, requests: 1 },
    ]);
    // What the first-session diagnosis reads is unchanged.
    expect(await firstSessionErrors(db.pool, { asOf })).toEqual(errorsBefore);

    // A second round finds nothing to do.
    const second = await applyRetention(db.pool, { window: DEFAULT_RAW_REQUEST_WINDOW, firstCallStage: 'first_api_call', now });
    expect(second.dropped).toEqual([]);
    expect(await rolledUp(ada.id)).toBe(6);
    expect(await query(`SELECT partition, rolled_up, kept FROM retention_runs WHERE rolled_up > 0 OR kept > 0 ORDER BY partition`)).not.toEqual([]);
  });

  it('refuses a duplicate request while its day of ids is kept, and forgets ids older than the window', async () => {
    const carol = developer(`${backend}_carol`);
    await ingest(carol.start);
    const request = carol.request(199, 0);
    expect(await ingest([request])).toMatchObject({ accepted: 1 });
    expect(await ingest([request])).toMatchObject({ accepted: 0, duplicates: 1 });
    // Eight days on, the id's day has been dropped: the id would be new again (the documented window).
    const later = new Date(now.getTime() + 8 * DAY);
    const report = await applyRetention(db.pool, { window: DEFAULT_RAW_REQUEST_WINDOW, firstCallStage: 'first_api_call', now: later });
    expect(report.droppedIdDays).toContain(`event_ids_d${dayOf(now)}`);
    expect(await query(`SELECT id FROM event_ids WHERE id = $1`, [request.id])).toEqual([]);
  });
});
