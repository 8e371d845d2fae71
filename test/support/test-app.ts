import { Client } from '@temporalio/client';
import { pino } from 'pino';
import { buildApp, type AppDeps } from '../../src/api/build-app.ts';
import { openMigratedDatabase } from './migrated-database.ts';
import { shippedFunnelInForce } from './shipped-funnel.ts';
import type { DatabaseBackend } from './test-databases.ts';

/** One key of each kind the app accepts; agent and metrics keys only where the test needs them. */
export interface TestAppKeys {
  ingest: string;
  admin: string;
  agent?: string;
  metrics?: string;
}

/** The keys, and any other dependency of the app the test sets itself (keyCacheMs, a logger, the funnel (default: the shipped one), …). */
export type TestAppOptions = { keys: TestAppKeys } & Partial<Omit<AppDeps, 'db' | 'ingestKeys' | 'adminKeys' | 'agentKeys' | 'metricsKeys'>>;

/**
 * The HTTP app on a fresh, migrated database, for tests of endpoints that never talk to Temporal:
 * a lazy client that never connects, silent logs, a fixed unsubscribe signing secret. Fixtures go
 * straight into `db.pool`; `close()` closes the app, then drops the database.
 */
export async function startTestApp(backend: DatabaseBackend, { keys, ...overrides }: TestAppOptions) {
  const database = await openMigratedDatabase(backend);
  const { db } = database;
  try {
    const app = await buildApp({
      db,
      temporal: new Client(),
      logger: pino({ level: 'silent' }),
      ingestKeys: [keys.ingest],
      adminKeys: [keys.admin],
      agentKeys: keys.agent ? [keys.agent] : [],
      metricsKeys: keys.metrics ? [keys.metrics] : [],
      signingSecret: 's'.repeat(32),
      funnel: shippedFunnelInForce,
      ...overrides,
    });
    return {
      db,
      app,
      database,
      async close() {
        await app.close();
        await database.close();
      },
    };
  } catch (error) {
    // No app to close: drop the database here, the caller never gets it.
    await database.close();
    throw error;
  }
}

export type TestApp = Awaited<ReturnType<typeof startTestApp>>;
