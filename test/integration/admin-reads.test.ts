import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnrampApp } from '../../src/api/build-app.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

const ADMIN_KEY = 'admin-reads-admin-key-0123456789';

/** The admin key reads everything any other key reads: every keyed GET in the OpenAPI document, whatever keys it also takes. */
describe.each(databaseBackends())('the admin key reads every endpoint (%s)', (backend) => {
  let testApp: TestApp;
  let app: OnrampApp;

  beforeAll(async () => {
    testApp = await startTestApp(backend, {
      keys: { ingest: 'admin-reads-ingest-key-0123456', admin: ADMIN_KEY, agent: 'admin-reads-agent-key-01234567', metrics: 'admin-reads-metrics-key-012345' },
    });
    ({ app } = testApp);
    await app.ready();
  });
  afterAll(async () => {
    await testApp?.close();
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
