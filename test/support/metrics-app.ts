import { pino } from 'pino';
import { expect } from 'vitest';
import { startTestApp } from './test-app.ts';
import type { DatabaseBackend } from './test-databases.ts';

/** The keys of the metrics API tests' app: the metrics endpoints take the admin and the metrics key. */
export const METRICS_TEST_KEYS = { ingest: 'metrics-test-ingest-key-0123', admin: 'metrics-test-admin-key-01234', metrics: 'metrics-test-read-key-012345' } as const;

/**
 * The metrics API tests' setup: `startTestApp` with the metrics keys (logging at METRICS_TEST_LOG),
 * with `get` / `ok` (asserts 200, returns the JSON) under the admin key by default. Fixtures go
 * straight into `db.pool`.
 */
export async function startMetricsTestApp(backend: DatabaseBackend) {
  const testApp = await startTestApp(backend, { keys: METRICS_TEST_KEYS, logger: pino({ level: process.env.METRICS_TEST_LOG ?? 'silent' }) });
  const { app } = testApp;
  const get = (url: string, key: string = METRICS_TEST_KEYS.admin) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
  return {
    ...testApp,
    get,
    async ok(url: string, key?: string) {
      const response = await get(url, key);
      expect(response.statusCode, response.body).toBe(200);
      return response.json();
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
