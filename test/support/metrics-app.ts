import { pino } from 'pino';
import { expect } from 'vitest';
import type { ReadFunnelInForce } from '../../src/funnel/funnel-in-force.ts';
import type { SourceStatsOptions } from '../../src/sources/source-stats.ts';
import { addToEndpointTotals } from '../../src/ingest/request-aggregates.ts';
import { startTestApp } from './test-app.ts';
import type { DatabaseBackend } from './test-databases.ts';

/** The keys of the metrics API tests' app: the metrics endpoints take the admin and the metrics key. */
/**
 * The per-endpoint totals as the ingest keeps them, recomputed from the requests in events: for
 * fixtures that insert request rows directly (the metrics read both).
 */
export const RECOUNT_ENDPOINT_TOTALS = `DELETE FROM developer_endpoints; ${addToEndpointTotals(
  `(SELECT developer_id, endpoint, status, mode, sdk, occurred_at FROM events WHERE type = 'api.request' AND developer_id IS NOT NULL) AS requests`,
)}`;

export const METRICS_TEST_KEYS = { ingest: 'metrics-test-ingest-key-0123', admin: 'metrics-test-admin-key-01234', metrics: 'metrics-test-read-key-012345' } as const;

/** A developer the metrics tests seed: its `developers` row and a `journey_stages` row per stage it reached. */
export interface FixtureDeveloper {
  id: string;
  channel: string;
  accountType: 'individual' | 'organization';
  orgId?: string;
  signup: string;
  /** stage → reached_at; account_created is the signup. */
  stages?: Partial<Record<string, string>>;
  /** Stages whose row was filled in after a later stage (`late`). */
  late?: string[];
}

/**
 * The metrics API tests' setup: `startTestApp` with the metrics keys (logging at METRICS_TEST_LOG)
 * and the funnel in force (default: the shipped one),
 * with `get` / `ok` (asserts 200, returns the JSON) under the admin key by default. Fixtures go
 * straight into `db.pool` (`insertDevelopers` for developers and the stages they reached).
 */
export async function startMetricsTestApp(backend: DatabaseBackend, options: { funnel?: ReadFunnelInForce; sources?: SourceStatsOptions } = {}) {
  const testApp = await startTestApp(backend, { keys: METRICS_TEST_KEYS, logger: pino({ level: process.env.METRICS_TEST_LOG ?? 'silent' }), ...options });
  const { app, db } = testApp;
  const get = (url: string, key: string = METRICS_TEST_KEYS.admin) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
  const ok = async (url: string, key?: string) => {
    const response = await get(url, key);
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  };
  return {
    ...testApp,
    get,
    ok,
    /** Inserts each developer's row, then a stage row per stage (account_created at the signup). */
    async insertDevelopers(developers: readonly FixtureDeveloper[]) {
      for (const d of developers) {
        await db.pool.query(`INSERT INTO developers (id, account_type, org_id, acquisition_channel, signed_up_at) VALUES ($1, $2, $3, $4, $5)`, [
          d.id,
          d.accountType,
          d.orgId ?? null,
          d.channel,
          d.signup,
        ]);
        for (const [stage, at] of Object.entries({ account_created: d.signup, ...d.stages })) {
          await db.pool.query(`INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id, late) VALUES ($1, $2, $3, $4, $5)`, [
            d.id,
            stage,
            at,
            `${d.id}-${stage}`,
            d.late?.includes(stage) ?? false,
          ]);
        }
      }
    },
    /**
     * Reproducibility as of an instant: runs `rows.insert` (rows dated after every asOf in `urls`), expects
     * each url to answer as `before` did, and runs `rows.remove` whatever happened.
     */
    async expectUnchangedBy(urls: readonly string[], before: unknown[], rows: { insert: string[]; remove: string[] }) {
      for (const sql of rows.insert) await db.pool.query(sql);
      try {
        const after = await Promise.all(urls.map((url) => ok(url)));
        expect(after).toEqual(before);
      } finally {
        for (const sql of rows.remove) await db.pool.query(sql);
      }
    },
    /** 400 with one error, naming the query parameter `path`. */
    async expectBadParameter(url: string, path: string, message: RegExp) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(400);
      const { errors } = response.json();
      expect(errors, url).toHaveLength(1);
      expect(errors[0].path, url).toBe(path);
      expect(errors[0].message, url).toMatch(message);
    },
    /** 200 to the admin and the metrics key, 401 to the ingest key and to none, for each url. */
    async expectMetricsKeysOnly(urls: readonly string[]) {
      for (const url of urls) {
        expect((await get(url, METRICS_TEST_KEYS.admin)).statusCode, url).toBe(200);
        expect((await get(url, METRICS_TEST_KEYS.metrics)).statusCode, url).toBe(200);
        const ingest = await get(url, METRICS_TEST_KEYS.ingest);
        expect(ingest.statusCode, url).toBe(401);
        expect(ingest.json()).toEqual({ errors: [{ path: 'authorization', message: 'invalid key' }] });
        expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(401);
      }
    },
  };
}

export type MetricsTestApp = Awaited<ReturnType<typeof startMetricsTestApp>>;
