import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

/** The funnel file format, published for editors and tools as the rules' is. */
describe('GET /v1/schemas/funnel', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(databaseBackends()[0]!, { keys: { ingest: 'funnel-api-ingest-key-012345', admin: 'funnel-api-admin-key-0123456' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serves schemas/funnel.schema.json without a key, and is in the OpenAPI document', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/v1/schemas/funnel' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(JSON.parse(readFileSync(new URL('../../schemas/funnel.schema.json', import.meta.url), 'utf8')));
    expect(Object.keys((t.app.swagger() as { paths: Record<string, unknown> }).paths)).toContain('/v1/schemas/funnel');
  });
});
