import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { ingestEvent } from '../../src/events/event-schemas.ts';
import { DEFAULT_BURST_THRESHOLDS } from '../../src/ingest/error-bursts.ts';
import { EventIngestor } from '../../src/ingest/event-ingestor.ts';
import { databaseBackends } from '../support/test-databases.ts';
import { openMigratedDatabase, type MigratedDatabase } from '../support/migrated-database.ts';

// Defaults: 5 × 401, 5 × 400 (60 % on one endpoint), 3 × 429 in the first 24 h; continued: as many
// again after the burst, within 72 h of it.
const t0 = Date.UTC(2026, 10, 1);
const minute = 60_000;
const hour = 60 * minute;
const at = (ms: number) => new Date(t0 + ms).toISOString();

describe.each(databaseBackends())('error bursts that continue (%s)', (backend) => {
  let database: MigratedDatabase;
  let db: Database;
  let ingestor: EventIngestor;

  beforeAll(async () => {
    database = await openMigratedDatabase(backend);
    ({ db } = database);
    ingestor = new EventIngestor(db.pool, { burstThresholds: async () => DEFAULT_BURST_THRESHOLDS });
  });
  afterAll(async () => {
    await database?.close();
  });

  /** A developer with a key; `request(status, ms)` makes an api.request `ms` after t0. */
  function developer(name: string) {
    const id = `${backend}_${name}`;
    let r = 0;
    return {
      id,
      key: { id: `${id}-k`, type: 'api_key.created', developerId: id, occurredAt: at(0), properties: { apiKey: `key_${id}`, mode: 'test' } },
      request: (status: number, ms: number, endpoint = '/v1/charges') => ({
        id: `${id}-r${r++}`,
        type: 'api.request',
        occurredAt: at(ms),
        properties: { apiKey: `key_${id}`, endpoint, method: 'POST', status, mode: 'test' },
      }),
    };
  }

  /** The payload of a developer's burst signal, or (`continued`) of its continuation's. */
  const burstPayload = (developerId: string, kind: string, figures: { continued?: true; occurredAt: string; status: number; count: number; endpoint?: string }) => ({
    id: `burst:${developerId}:${kind}${figures.continued ? ':continued' : ''}`,
    type: 'api.error_burst',
    kind,
    ...figures,
  });

  const ingest = (events: unknown[], through = ingestor) => through.ingest(events.map((e) => ingestEvent.parse(e)));

  async function burstSignals(developerId: string) {
    const { rows } = await db.pool.query<{ signal_id: string; payload: Record<string, unknown> }>(
      `SELECT signal_id, payload FROM outbox_signals WHERE developer_id = $1 AND payload->>'type' = 'api.error_burst' ORDER BY id`,
      [developerId],
    );
    return rows;
  }

  async function burstRows(developerId: string) {
    const { rows } = await db.pool.query<{ kind: string; continued: boolean; status: number; count: number; endpoint: string | null; occurred_at: Date }>(
      `SELECT kind, continued, status, count, endpoint, occurred_at FROM error_bursts WHERE developer_id = $1 ORDER BY kind, continued`,
      [developerId],
    );
    return rows.map((row) => ({ ...row, occurred_at: row.occurred_at.toISOString() }));
  }

  it('records as many 401s again after the burst once, with the errors counted after it, and one :continued signal', async () => {
    const d = developer('continued401');
    await ingest([d.key, d.request(200, minute)]);
    // The burst: 5 × 401 in the first minutes (its occurredAt: the fifth).
    await ingest([1, 2, 3, 4, 5].map((m) => d.request(401, m * minute)));
    // Four more, one of them a day later (past the first session, within 72 h of the burst): not yet.
    await ingest([6, 7, 8].map((m) => d.request(401, m * minute)));
    await ingest([d.request(200, 26 * hour), d.request(401, 26 * hour)]);
    expect((await burstSignals(d.id)).map((s) => s.signal_id)).toEqual([`burst:${d.id}:unauthorized_burst`]);
    // A late 401 from before the burst does not count; the fifth after it does.
    await ingest([d.request(401, 3 * minute + 30_000)]);
    expect(await burstSignals(d.id)).toHaveLength(1);
    await ingest([d.request(401, 30 * hour)]);
    // More change nothing.
    await ingest([d.request(401, 31 * hour), d.request(401, 32 * hour)]);

    const signals = await burstSignals(d.id);
    expect(signals.map((s) => s.signal_id)).toEqual([`burst:${d.id}:unauthorized_burst`, `burst:${d.id}:unauthorized_burst:continued`]);
    expect(signals[1]!.payload).toEqual(burstPayload(d.id, 'unauthorized_burst', { continued: true, occurredAt: at(30 * hour), status: 401, count: 5 }));
    expect(signals[0]!.payload).not.toHaveProperty('continued');
    expect(await burstRows(d.id)).toEqual([
      { kind: 'unauthorized_burst', continued: false, status: 401, count: 5, endpoint: null, occurred_at: at(5 * minute) },
      { kind: 'unauthorized_burst', continued: true, status: 401, count: 5, endpoint: null, occurred_at: at(30 * hour) },
    ]);
  });

  it('counts continued 400s on any endpoint and names the most frequent one', async () => {
    const d = developer('continued400');
    await ingest([d.key, ...[1, 2, 3, 4, 5].map((m) => d.request(400, m * minute, '/v1/charges'))]);
    // Spread over three endpoints (no 60 % on one): continued all the same.
    await ingest([d.request(400, 2 * hour, '/v1/refunds'), d.request(400, 3 * hour, '/v1/customers'), d.request(400, 4 * hour, '/v1/refunds')]);
    await ingest([d.request(400, 50 * hour, '/v1/payouts'), d.request(400, 51 * hour, '/v1/customers')]);
    const signals = await burstSignals(d.id);
    expect(signals.map((s) => s.payload)).toEqual([
      burstPayload(d.id, 'bad_request_burst', { occurredAt: at(5 * minute), status: 400, count: 5, endpoint: '/v1/charges' }),
      // Two on /v1/customers and two on /v1/refunds: the smaller name.
      burstPayload(d.id, 'bad_request_burst', { continued: true, occurredAt: at(51 * hour), status: 400, count: 5, endpoint: '/v1/customers' }),
    ]);
  });

  it('does not count errors beyond continuedWithin of the burst, however many', async () => {
    const d = developer('window');
    await ingest([d.key, ...[1, 2, 3].map((m) => d.request(429, m * minute))]); // the 429 burst, at 3 min
    await ingest([1, 2, 3, 4].map((m) => d.request(429, 3 * minute + 72 * hour + m * minute)));
    await ingest([d.request(429, 10 * hour), d.request(429, 20 * hour)]); // two within it: not enough
    expect((await burstSignals(d.id)).map((s) => s.signal_id)).toEqual([`burst:${d.id}:rate_limited_burst`]);
    // A late third within the window: continued, counting only the three within it.
    await ingest([d.request(429, 70 * hour)]);
    const signals = await burstSignals(d.id);
    expect(signals.map((s) => s.signal_id)).toEqual([`burst:${d.id}:rate_limited_burst`, `burst:${d.id}:rate_limited_burst:continued`]);
    expect(signals[1]!.payload).toMatchObject({ count: 3, occurredAt: at(70 * hour), continued: true });
  });

  it('counts concurrent batches together: exactly one :continued signal', async () => {
    // A few developers, for the race to have its chances.
    for (const n of [0, 1, 2, 3]) {
      const d = developer(`concurrent${n}`);
      await ingest([d.key, ...[1, 2, 3, 4, 5].map((m) => d.request(401, m * minute))]);
      // Three batches of two at once, none crossing alone (on endpoints of their own: the request
      // aggregates' rows do not serialise them, only the developer's lock does).
      const results = await Promise.all([0, 1, 2].map((b) => ingest([d.request(401, (30 + b) * hour, `/v1/e${b}`), d.request(401, (30 + b) * hour + minute, `/v1/e${b}`)])));
      expect(results.map((r) => r.accepted)).toEqual([2, 2, 2]);
      const signals = await burstSignals(d.id);
      expect(signals.map((s) => s.signal_id)).toEqual([`burst:${d.id}:unauthorized_burst`, `burst:${d.id}:unauthorized_burst:continued`]);
      expect(signals[1]!.payload.count).toBe(6); // the third batch in lock order sees all six
    }
  });

  it('counts the first burst and its continuation together when they arrive at once, in any batches', async () => {
    const d = developer('together');
    await ingest([d.key]);
    // Each batch: one first-session 401 and one a day later; all at once.
    await Promise.all([1, 2, 3, 4, 5].map((m) => ingest([d.request(401, m * minute), d.request(401, 24 * hour + m * hour)])));
    const signals = await burstSignals(d.id);
    expect(signals.map((s) => s.signal_id)).toEqual([`burst:${d.id}:unauthorized_burst`, `burst:${d.id}:unauthorized_burst:continued`]);
    expect(signals.map((s) => [s.payload.count, s.payload.occurredAt])).toEqual([
      [5, at(5 * minute)],
      [5, at(29 * hour)],
    ]);

    // Or in one batch of a developer this process knows nothing of: the batch that records the
    // burst checks its continuation too.
    const e = developer('one_batch');
    await ingest([e.key, ...[1, 2, 3, 4, 5].map((m) => e.request(401, m * minute)), ...[30, 31, 32, 33, 34].map((h) => e.request(401, h * hour))]);
    expect((await burstSignals(e.id)).map((s) => [s.signal_id, s.payload.count, s.payload.occurredAt])).toEqual([
      [`burst:${e.id}:unauthorized_burst`, 5, at(5 * minute)],
      [`burst:${e.id}:unauthorized_burst:continued`, 5, at(34 * hour)],
    ]);
  });

  it('does not count duplicates of the same events twice, even in concurrent retries', async () => {
    const d = developer('duplicates');
    await ingest([d.key, ...[1, 2, 3, 4, 5].map((m) => d.request(401, m * minute))]);
    const four = [1, 2, 3, 4].map((h) => d.request(401, 30 * hour + h * minute));
    const retries = await Promise.all([ingest(four), ingest(four), ingest([...four].reverse())]);
    expect(retries.map((r) => r.accepted).sort()).toEqual([0, 0, 4]);
    expect(retries.reduce((sum, r) => sum + r.duplicates, 0)).toBe(8);
    await ingest(four);
    expect(await burstSignals(d.id)).toHaveLength(1);
    await ingest([d.request(401, 40 * hour)]);
    const signals = await burstSignals(d.id);
    expect(signals).toHaveLength(2);
    expect(signals[1]!.payload).toMatchObject({ id: `burst:${d.id}:unauthorized_burst:continued`, count: 5 });
  });

  it('continues a burst another process recorded (fresh caches), once', async () => {
    const d = developer('other_process');
    await ingest([d.key, ...[1, 2, 3, 4, 5].map((m) => d.request(401, m * minute)), d.request(401, 30 * hour)]);
    const other = new EventIngestor(db.pool, { burstThresholds: async () => DEFAULT_BURST_THRESHOLDS });
    await ingest(
      [2, 3].map((h) => d.request(401, 30 * hour + h * minute)),
      other,
    );
    await ingest([d.request(401, 31 * hour)], ingestor); // this one still has the burst in memory
    expect(await burstSignals(d.id)).toHaveLength(1);
    await ingest([d.request(401, 32 * hour)], other);
    await ingest([d.request(401, 33 * hour)], ingestor);
    const signals = await burstSignals(d.id);
    expect(signals.map((s) => s.signal_id)).toEqual([`burst:${d.id}:unauthorized_burst`, `burst:${d.id}:unauthorized_burst:continued`]);
    expect(signals[1]!.payload).toMatchObject({ count: 5, occurredAt: at(32 * hour) });
  });
});
