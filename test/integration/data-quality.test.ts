import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceStats, type SourceName, type SourceStat } from '../../src/sources/source-stats.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

const INGEST_KEY = 'dq-ingest-key-0123456789abcdef';
const ADMIN_KEY = 'dq-admin-key-0123456789abcdefg';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * Data quality through the real routes, on a clock the test moves: how late each source's events
 * arrived (GET /v1/sources and the Prometheus histogram), a source gone silent after its threshold
 * (never one unused, never the import), and the unattributed backlog's size and age until the key's
 * creation attributes it.
 */
describe.each(databaseBackends())('data quality (%s)', (backend) => {
  let t: TestApp;
  // The clock the app judges by; the database stamps the backlog with its own (the real) time.
  let now = new Date();
  const start = now.getTime();
  const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  const payment = (id: string, occurredAt: string, who: { developerId: string } | { apiKey: string } = { developerId: 'dev_dq' }) => ({
    id,
    type: 'payment.succeeded',
    occurredAt,
    ...('developerId' in who ? { developerId: who.developerId, properties: { amount: 1 } } : { properties: { apiKey: who.apiKey, amount: 1 } }),
  });
  const post = async (url: string, events: unknown[], key = INGEST_KEY) => {
    const response = await t.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${key}` }, payload: { events } });
    expect(response.statusCode, response.body).toBe(202);
    return response.json();
  };
  const sources = async () => {
    const response = await t.app.inject({ method: 'GET', url: '/v1/sources', headers: admin });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    return { ...body, bySource: Object.fromEntries(body.sources.map((s: { source: string }) => [s.source, s])) };
  };
  const prometheus = async () => {
    const response = await t.app.inject({ method: 'GET', url: '/metrics', headers: admin });
    expect(response.statusCode).toBe(200);
    return response.body;
  };
  /** A series' value in the exposition text (labels as prom-client writes them), 0 when absent. */
  const sample = (text: string, series: string) =>
    Number(
      text
        .split('\n')
        .find((line) => line.startsWith(`${series} `))
        ?.slice(series.length + 1) ?? 0,
    );

  beforeAll(async () => {
    t = await startTestApp(backend, {
      keys: { ingest: INGEST_KEY, admin: ADMIN_KEY },
      sources: { now: () => now, silentAfter: { default: HOUR, bySource: { kong: 15 * MINUTE } } },
    });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('shows how late each source’s events arrived: p50 and p95 as bucket bounds, the max, per window; import late by design', async () => {
    const before = await prometheus();
    // 5 s, 30 s, 2 min and 2 h late: buckets ≤10 s, ≤1 min, ≤5 min, ≤6 h.
    await post('/v1/events', [payment('late_1', ago(5_000)), payment('late_2', ago(30_000)), payment('late_3', ago(2 * MINUTE)), payment('late_4', ago(2 * HOUR))]);
    await post('/v1/import', [payment('old_1', ago(30 * 24 * HOUR))], ADMIN_KEY);
    // A source route: Kong's documented entry, started 2025-12-01T09:00Z.
    const created = await t.app.inject({ method: 'POST', url: '/v1/ingest-keys', headers: admin, payload: { source: 'kong', author: 'data quality test' } });
    const kong = await t.app.inject({
      method: 'POST',
      url: '/v1/sources/kong',
      headers: { authorization: `Bearer ${created.json().key}` },
      payload: JSON.parse(readFileSync(new URL('../fixtures/kong/single-entry.json', import.meta.url), 'utf8')),
    });
    expect(kong.statusCode, kong.body).toBe(200);

    const { bySource } = await sources();
    const window = { events: 4, p50Seconds: 60, p95Seconds: 7200, maxSeconds: 7200 };
    expect(bySource.events.lateness).toEqual({ lateByDesign: false, lastHour: window, last24Hours: window });
    const month = 30 * 24 * 3600;
    expect(bySource.import.lateness.lastHour).toEqual({ events: 1, p50Seconds: month, p95Seconds: month, maxSeconds: month });
    expect(bySource.import.lateness.lateByDesign).toBe(true);
    // Beyond the last bucket (7 d): the percentiles are the latest event.
    const kongLate = (now.getTime() - Date.UTC(2025, 11, 1, 9)) / 1000;
    expect(bySource.kong.lateness.lastHour).toEqual({ events: 1, p50Seconds: kongLate, p95Seconds: kongLate, maxSeconds: kongLate });
    expect(bySource.segment.lateness.lastHour).toEqual({ events: 0, p50Seconds: null, p95Seconds: null, maxSeconds: null });

    const after = await prometheus();
    const bucket = (le: string) =>
      sample(after, `onramp_source_event_lateness_seconds_bucket{le="${le}",source="events"}`) -
      sample(before, `onramp_source_event_lateness_seconds_bucket{le="${le}",source="events"}`);
    expect(['10', '60', '300', '3600', '21600', '+Inf'].map(bucket)).toEqual([1, 2, 3, 3, 4, 4]);
    expect(sample(after, 'onramp_source_event_lateness_seconds_count{source="import"}') - sample(before, 'onramp_source_event_lateness_seconds_count{source="import"}')).toBe(1);

    // Two hours on, the events are out of the last hour and still in the last 24.
    now = new Date(start + 2 * HOUR);
    const later = (await sources()).bySource;
    expect(later.events.lateness.lastHour.events).toBe(0);
    expect(later.events.lateness.last24Hours).toEqual(window);
  });

  it('flags a source silent past its threshold, with how long; never one unused, never the import unless named', async () => {
    now = new Date(start + 10 * MINUTE);
    let { bySource } = await sources();
    expect(bySource.events).toMatchObject({ unused: false, silent: false, silentForSeconds: null, silentAfterSeconds: 3600 });
    expect(bySource.kong).toMatchObject({ silent: false, silentAfterSeconds: 900 });
    now = new Date(start + 20 * MINUTE);
    ({ bySource } = await sources());
    expect(bySource.kong).toMatchObject({ silent: true, silentAfterSeconds: 900 });
    expect(bySource.kong.silentForSeconds).toBeGreaterThanOrEqual(20 * 60 - 5);
    expect(bySource.kong.silentForSeconds).toBeLessThanOrEqual(20 * 60);
    expect(bySource.events.silent).toBe(false);

    now = new Date(start + 3 * HOUR);
    ({ bySource } = await sources());
    expect(bySource.events).toMatchObject({ silent: true, silentAfterSeconds: 3600 });
    expect(bySource.events.silentForSeconds).toBeGreaterThanOrEqual(3 * 3600 - 5);
    expect(bySource.import).toMatchObject({ unused: false, silent: false, silentForSeconds: null, silentAfterSeconds: null });
    expect(bySource.segment).toMatchObject({ unused: true, silent: false, silentForSeconds: null, lastReceivedAt: null });

    const text = await prometheus();
    expect(sample(text, 'onramp_source_silent{source="events"}')).toBe(1);
    expect(sample(text, 'onramp_source_silent{source="import"}')).toBe(0);
    expect(sample(text, 'onramp_source_silent{source="segment"}')).toBe(0);
    expect(sample(text, 'onramp_source_last_received_timestamp_seconds{source="events"}')).toBe(Date.parse(bySource.events.lastReceivedAt) / 1000);
    expect(text).not.toContain('onramp_source_last_received_timestamp_seconds{source="segment"}');

    // A request again: receiving.
    await post('/v1/events', [payment('back_1', ago(1_000))]);
    expect((await sources()).bySource.events).toMatchObject({ silent: false, silentForSeconds: null });
  });

  it('counts the unattributed backlog and its oldest age until the key’s creation attributes it', async () => {
    now = new Date();
    expect((await sources()).unattributed).toEqual({ waiting: 0, oldestReceivedAt: null, oldestAgeSeconds: null });
    await post('/v1/events', [payment('wait_1', ago(0), { apiKey: 'sk_dq_late' }), payment('wait_2', ago(0), { apiKey: 'sk_dq_late' })]);
    const waitedFrom = Date.now();
    now = new Date(waitedFrom + 2 * HOUR);
    const { unattributed } = await sources();
    expect(unattributed).toMatchObject({ waiting: 2, oldestReceivedAt: expect.any(String) });
    expect(Math.abs(Date.parse(unattributed.oldestReceivedAt) - waitedFrom)).toBeLessThan(10_000);
    expect(unattributed.oldestAgeSeconds).toBeGreaterThanOrEqual(2 * 3600 - 10);
    expect(unattributed.oldestAgeSeconds).toBeLessThanOrEqual(2 * 3600 + 1);
    let text = await prometheus();
    expect(sample(text, 'onramp_unattributed_backlog')).toBe(2);
    expect(sample(text, 'onramp_unattributed_oldest_age_seconds')).toBe(unattributed.oldestAgeSeconds);

    await post('/v1/events', [{ id: 'key_dq', type: 'api_key.created', developerId: 'dev_dq', occurredAt: ago(0), properties: { apiKey: 'sk_dq_late', mode: 'live' } }]);
    expect((await sources()).unattributed).toEqual({ waiting: 0, oldestReceivedAt: null, oldestAgeSeconds: null });
    text = await prometheus();
    expect(sample(text, 'onramp_unattributed_backlog')).toBe(0);
    expect(sample(text, 'onramp_unattributed_oldest_age_seconds')).toBe(0);
  });

  it('reads, after a flush already writing, every count noted before the read (a flush half done, the timer’s say, is waited for)', async () => {
    // The real pool, its first source_stats upsert held until the read has started.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = true;
    const pool = {
      query: async (text: string, params?: unknown[]) => {
        if (holding && text.includes('INSERT INTO source_stats')) {
          holding = false;
          await held;
        }
        return t.db.pool.query(text, params);
      },
    };
    const stats = new SourceStats(pool as never, { now: () => now });
    const count = (list: SourceStat[], source: SourceName) => list.find((s) => s.source === source)!;
    const before = await stats.list();
    stats.record('segment', { accepted: 3, duplicates: 1, rejected: 0 });
    stats.record('clerk', { accepted: 2, duplicates: 0, rejected: 0 });
    const writing = stats.flush(); // the timer's flush, say: its first upsert held
    const listed = stats.list();
    // Long enough for a read that did not wait to have read.
    await sleep(200);
    release();
    await writing;
    const after = await listed;
    expect(count(after, 'segment')).toMatchObject({ accepted: count(before, 'segment').accepted + 3, duplicates: count(before, 'segment').duplicates + 1 });
    expect(count(after, 'clerk').accepted).toBe(count(before, 'clerk').accepted + 2);
  });
});

describe('ONRAMP_SOURCE_SILENT_AFTER', () => {
  it('stops start-up when it names no source (its format: test/unit/config.test.ts)', () => {
    expect(() => new SourceStats(null as never, { silentAfter: { default: HOUR, bySource: { kongg: MINUTE } } })).toThrow('ONRAMP_SOURCE_SILENT_AFTER: no source named kongg');
  });
});
