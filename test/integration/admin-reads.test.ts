import { Client } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type OnrampApp } from '../../src/api/build-app.ts';
import type { Database } from '../../src/db/database.ts';
import { databaseBackends } from '../support/test-databases.ts';
import { openMigratedDatabase, type MigratedDatabase } from '../support/migrated-database.ts';

const ADMIN_KEY = 'admin-reads-admin-key-0123456789';

/** The admin key reads everything any other key reads: every keyed GET in the OpenAPI document, whatever keys it also takes. */
describe.each(databaseBackends())('the admin key reads every endpoint (%s)', (backend) => {
  let database: MigratedDatabase;
  let db: Database;
  let app: OnrampApp;

  beforeAll(async () => {
    database = await openMigratedDatabase(backend);
    ({ db } = database);
    app = await buildApp({
      db,
      temporal: new Client(),
      logger: pino({ level: 'silent' }),
      ingestKeys: ['admin-reads-ingest-key-0123456'],
      adminKeys: [ADMIN_KEY],
      agentKeys: ['admin-reads-agent-key-01234567'],
      metricsKeys: ['admin-reads-metrics-key-012345'],
      signingSecret: 's'.repeat(32),
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  it('answers no GET that takes a key with 401 to the admin key', async () => {
    const paths = (app.swagger() as { paths: Record<string, Record<string, { responses?: Record<string, unknown> }>> }).paths;
    const keyed = Object.entries(paths)
      .filter(([, operations]) => operations.get?.responses?.['401'])
      .map(([path]) => path.replace(/\{[^}]+\}/g, 'dev_1'));
    expect(keyed).toEqual(expect.arrayContaining(['/v1/developers/dev_1/journey', '/v1/developers/dev_1/messages', '/v1/handoffs', '/v1/rules', '/metrics']));
    const refused = [];
    for (const url of keyed) {
      const response = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      if (response.statusCode === 401) refused.push(url);
      // Without a key, each of them is a 401: the check above is not vacuous.
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(401);
    }
    expect(refused).toEqual([]);
  });
});
