import { setTimeout as sleep } from 'node:timers/promises';
import { shippedFunnelInForce } from '../support/shipped-funnel.ts';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type OnrampApp } from '../../src/api/build-app.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { applyMigrations } from '../../src/db/migrate.ts';
import { eventually } from '../support/eventually.ts';
import { SIGNING_SECRET } from '../support/nudge-deps.ts';
import { postgresBinDir, startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.ts';

/**
 * Chaos: PostgreSQL restarted during sustained ingest. While it is down the API answers 503 with
 * Retry-After (never a 500, never a crash); a client that retries until 202, as the contract
 * asks, gets every event stored exactly once, including batches whose commit was under way when
 * the server went away (their retry finds them: duplicates, not second rows).
 */

const INGEST_KEY = 'chaos-ingest-key-0123456789';
const PRODUCERS = 3;
const BATCH = 50;

let postgres: PrivatePostgres;
let db: Database;
let app: OnrampApp;
let url: string;

beforeAll(async () => {
  postgres = await startPrivatePostgres();
  await applyMigrations(postgres.url);
  db = openDatabase(postgres.url, { max: 10 });
  // The ingest path never calls Temporal (signals wait in the outbox): a lazy client that is never used.
  const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  app = await buildApp({ db, temporal, logger: pino({ level: 'silent' }), ingestKeys: [INGEST_KEY], adminKeys: [], signingSecret: SIGNING_SECRET, funnel: shippedFunnelInForce });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await db?.close();
  await postgres?.destroy();
});

interface ProducerReport {
  sent: string[];
  batches: number;
  unavailable: number;
  retryAfter: Set<string>;
  otherStatuses: number[];
  accepted: number;
  duplicates: number;
}

/** Posts batches of new events until `until` resolves, retrying each until it is accepted (202). */
async function produce(name: string, until: Promise<void>): Promise<ProducerReport> {
  const report: ProducerReport = { sent: [], batches: 0, unavailable: 0, retryAfter: new Set(), otherStatuses: [], accepted: 0, duplicates: 0 };
  let stop = false;
  void until.then(() => (stop = true));
  for (let b = 0; !stop; b++) {
    const events = Array.from({ length: BATCH }, (_, i) => ({
      id: `${name}.${b}.${i}`,
      type: 'docs.viewed',
      developerId: `dev_${name}_${i % 10}`,
      occurredAt: new Date().toISOString(),
      properties: { path: `/docs/${b}` },
    }));
    for (;;) {
      let status = 0;
      let body: { accepted?: number; duplicates?: number } = {};
      let retryAfter: string | null = null;
      try {
        const response = await fetch(`${url}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${INGEST_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ events }),
        });
        status = response.status;
        retryAfter = response.headers.get('retry-after');
        body = (await response.json()) as typeof body;
      } catch {
        status = -1; // the API itself unreachable: it must not be
      }
      if (status === 202) {
        report.accepted += body.accepted ?? 0;
        report.duplicates += body.duplicates ?? 0;
        break;
      }
      if (status === 503) {
        report.unavailable++;
        if (retryAfter) report.retryAfter.add(retryAfter);
        // Retry-After says 5 s; a test waits less, as a hurried client would: still harmless.
        await sleep(250);
        continue;
      }
      report.otherStatuses.push(status);
      await sleep(250);
    }
    report.sent.push(...events.map((e) => e.id));
    report.batches++;
  }
  return report;
}

describe.skipIf(!postgresBinDir())('chaos: PostgreSQL restarts during sustained ingest', () => {
  it('answers 503 with Retry-After while it is down; every event accepted is stored exactly once', async () => {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const producers = Array.from({ length: PRODUCERS }, (_, i) => produce(`p${i}`, done));
    const countStored = async () => Number((await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM events')).rows[0]!.n);
    const storedBefore = await eventually(countStored, { until: (n) => n >= PRODUCERS * BATCH, describe: `${PRODUCERS * BATCH} events stored before the crash` });
    // A crash (immediate: no checkpoint, recovery at start), three seconds down, then back.
    await postgres.stop('immediate');
    await sleep(3000);
    await postgres.start();
    // Ingest is back once new batches are stored after the restart.
    const storedAtRestart = await eventually(countStored, { describe: 'the events table readable after the restart' });
    await eventually(countStored, { until: (n) => n >= storedAtRestart + PRODUCERS * BATCH, describe: `${PRODUCERS * BATCH} more events stored after the restart` });
    finish();
    const reports = await Promise.all(producers);

    const sent = reports.flatMap((r) => r.sent);
    const unavailable = reports.reduce((n, r) => n + r.unavailable, 0);
    const { rows } = await db.pool.query<{ n: string; distinct_ids: string; missing: string }>(
      `SELECT count(*) AS n, count(DISTINCT id) AS distinct_ids,
              (SELECT count(*) FROM unnest($1::text[]) AS s(id) WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = s.id)) AS missing
       FROM events`,
      [sent],
    );
    const stored = Number(rows[0]!.n);
    const lost = Number(rows[0]!.missing);
    const duplicated = stored - Number(rows[0]!.distinct_ids);
    console.log(
      `chaos/postgres: faults injected 1 (crash + 3 s down), batches ${reports.reduce((n, r) => n + r.batches, 0)}, 503 answers ${unavailable}, events sent ${sent.length}, stored ${stored}, lost ${lost}, duplicated ${duplicated}`,
    );

    expect(storedBefore).toBeGreaterThan(0);
    expect(unavailable).toBeGreaterThan(0);
    for (const r of reports) {
      expect(r.otherStatuses).toEqual([]);
      expect([...r.retryAfter]).toEqual(['5']);
    }
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(stored).toBe(sent.length);
    // Each event counted once as accepted, or as a duplicate when its first commit had landed unacknowledged.
    expect(reports.reduce((n, r) => n + r.accepted + r.duplicates, 0)).toBe(sent.length);
    // And the API is healthy again for new input.
    const after = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'after.0', type: 'docs.viewed', developerId: 'dev_after', occurredAt: new Date().toISOString() }),
    });
    expect(after.status).toBe(202);
  });
});
