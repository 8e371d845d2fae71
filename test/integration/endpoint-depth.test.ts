import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECOUNT_ENDPOINT_TOTALS, startMetricsTestApp, type MetricsTestApp } from '../support/metrics-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

/**
 * First-session depth reads the per-endpoint totals (an endpoint's first 2xx) and looks at raw
 * requests only for an endpoint whose first 2xx came before the first-call stage: in a funnel
 * whose first call is proved by something else, /v1/a answered 2xx an hour before the stage and
 * again within its 24 hours, so it counts; /v1/c answered only before, so it does not.
 */
describe.each(databaseBackends())('first-session depth from the per-endpoint totals (%s)', (backend) => {
  let api: MetricsTestApp;
  const call = '2026-11-30T11:00:00Z';

  beforeAll(async () => {
    api = await startMetricsTestApp(backend);
    await api.insertDevelopers([{ id: 'early', channel: 'organic_search', accountType: 'individual', signup: '2026-11-30T09:00:00Z', stages: { first_api_call: call } }]);
    const requests: [at: string, endpoint: string, status: number][] = [
      ['2026-11-30T10:00:00Z', '/v1/a', 200],
      ['2026-11-30T10:05:00Z', '/v1/c', 200],
      ['2026-11-30T12:00:00Z', '/v1/a', 200],
      ['2026-11-30T13:00:00Z', '/v1/b', 200],
      ['2026-12-03T00:00:00Z', '/v1/d', 200], // after the 24 hours
    ];
    for (const [i, [at, endpoint, status]] of requests.entries())
      await api.db.pool.query(
        `INSERT INTO events (id, type, developer_id, occurred_at, endpoint, status, mode, sdk) VALUES ($1, 'api.request', 'early', $2, $3, $4, 'test', false)`,
        [`early-${i}`, at, endpoint, status],
      );
    await api.db.pool.query(RECOUNT_ENDPOINT_TOTALS);
  });
  afterAll(async () => {
    await api?.close();
  });

  it('counts an endpoint first called before the stage when it answered 2xx again within the 24 hours', async () => {
    const depth = await api.ok(`/v1/metrics/depth?asOf=2026-12-10T00:00:00Z`);
    expect(depth.overall.distribution).toEqual([{ endpoints: 2, developers: 1 }]);
  });
});
