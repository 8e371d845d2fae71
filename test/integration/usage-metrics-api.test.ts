import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIAGNOSIS } from '../../src/events/error-diagnosis.ts';
import { METRICS_TEST_KEYS, RECOUNT_ENDPOINT_TOTALS, startMetricsTestApp, type MetricsTestApp, type FixtureDeveloper } from '../support/metrics-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

/** Every figure below is computed as of this instant (a Monday). */
const AS_OF = '2027-03-15T00:00:00.000Z';

/** [occurredAt, endpoint, status, sdk flag (null: not set)] of one api.request. */
type Request = [at: string, endpoint: string, status: number, sdk: boolean | null];

interface Fixture extends FixtureDeveloper {
  stages?: Partial<Record<'first_api_call' | 'production_deployment', string>>;
  requests?: Request[];
}

/*
 * Six developers in three ISO signup weeks (UTC), plus one who signs up after AS_OF.
 * "session" = the first 24 h from the developer's first api.request (both ends included);
 * "depth" = distinct endpoints with a 2xx from first_api_call to 24 h after it (both ends included).
 *
 * 2026-W49
 *   d1 organic/individual  first call 11-30T11:00. A quickstart.completed at 10:15 is not a request.
 *      10:30 /a 401 sdk | 11:00 /a 200 sdk | 12:00 /b 200 sdk | 13:00 /b 400 raw
 *      12-01T10:30 /c 404 raw (session end exactly: in) | 12-01T11:00 /c 200 sdk (first call + 24 h exactly: depth)
 *      12-05 /d 200 sdk (outside both). Production 2027-01-10.
 *      requests sdk 5, raw 2 → SDK developer. session: 5 requests, errors 3 (401, 400, 404). depth a b c = 3.
 *   d2 paid/organization org_1  first call 12-01T10:02.
 *      10:00 /a 401 raw | 10:01 /a 401 raw | 10:02 /a 200 raw | 10:03 /a 429 sdk | 10:04 /a 500 sdk
 *      12-02T10:02 /b 200 sdk (first call + 24 h exactly: depth; after the session, from 10:00, ended)
 *      requests sdk 3, raw 3: a tie → raw developer. session: 5, errors 4 (401 ×2, 429, 500). depth a b = 2.
 *   d3 organic/individual  never calls: in no figure.
 * 2026-W53 (2026-12-31 and 2027-01-02 are in ISO week 53 of 2026)
 *   e1 organic/individual signs up 12-31T23:30, first call 01-01T00:00 /a 200 sdk;
 *      01-02T00:00:00.001 /b 200 sdk (1 ms past 24 h: neither depth nor session). Production 01-05.
 *      requests sdk 2 → SDK. session: 1, no error. depth 1.
 *   e2 paid/individual  01-02T13:00 /b 400 raw | 13:05 /b 400 raw | 13:10 /b 200 raw (first call) | 13:20 /a 503 (no sdk flag: raw)
 *      requests raw 4 → raw. session: 4, errors 3 (400 ×2, 503). depth 1 (/a answered 503).
 * 2027-W10
 *   f1 organic/individual signs up 03-14T12:00, first call 13:00 /a 200 sdk; 03-15T01:00 /b 401 sdk is after AS_OF.
 *      requests sdk 1 → SDK. session: 1, no error. depth: its 24 h end after AS_OF → excluded.
 * z1 signs up 2027-03-20 (after AS_OF) and calls: counted nowhere.
 */
const FIXTURES: Fixture[] = [
  {
    id: 'd1',
    channel: 'organic_search',
    accountType: 'individual',
    signup: '2026-11-30T10:00:00Z',
    stages: { first_api_call: '2026-11-30T11:00:00Z', production_deployment: '2027-01-10T00:00:00Z' },
    requests: [
      ['2026-11-30T10:30:00Z', '/v1/a', 401, true],
      ['2026-11-30T11:00:00Z', '/v1/a', 200, true],
      ['2026-11-30T12:00:00Z', '/v1/b', 200, true],
      ['2026-11-30T13:00:00Z', '/v1/b', 400, false],
      ['2026-12-01T10:30:00Z', '/v1/c', 404, false],
      ['2026-12-01T11:00:00Z', '/v1/c', 200, true],
      ['2026-12-05T00:00:00Z', '/v1/d', 200, true],
    ],
  },
  {
    id: 'd2',
    channel: 'paid',
    accountType: 'organization',
    orgId: 'org_1',
    signup: '2026-12-01T10:00:00Z',
    stages: { first_api_call: '2026-12-01T10:02:00Z' },
    requests: [
      ['2026-12-01T10:00:00Z', '/v1/a', 401, false],
      ['2026-12-01T10:01:00Z', '/v1/a', 401, false],
      ['2026-12-01T10:02:00Z', '/v1/a', 200, false],
      ['2026-12-01T10:03:00Z', '/v1/a', 429, true],
      ['2026-12-01T10:04:00Z', '/v1/a', 500, true],
      ['2026-12-02T10:02:00Z', '/v1/b', 200, true],
    ],
  },
  { id: 'd3', channel: 'organic_search', accountType: 'individual', signup: '2026-12-02T10:00:00Z' },
  {
    id: 'e1',
    channel: 'organic_search',
    accountType: 'individual',
    signup: '2026-12-31T23:30:00Z',
    stages: { first_api_call: '2027-01-01T00:00:00Z', production_deployment: '2027-01-05T00:00:00Z' },
    requests: [
      ['2027-01-01T00:00:00Z', '/v1/a', 200, true],
      ['2027-01-02T00:00:00.001Z', '/v1/b', 200, true],
    ],
  },
  {
    id: 'e2',
    channel: 'paid',
    accountType: 'individual',
    signup: '2027-01-02T12:00:00Z',
    stages: { first_api_call: '2027-01-02T13:10:00Z' },
    requests: [
      ['2027-01-02T13:00:00Z', '/v1/b', 400, false],
      ['2027-01-02T13:05:00Z', '/v1/b', 400, false],
      ['2027-01-02T13:10:00Z', '/v1/b', 200, false],
      ['2027-01-02T13:20:00Z', '/v1/a', 503, null],
    ],
  },
  {
    id: 'f1',
    channel: 'organic_search',
    accountType: 'individual',
    signup: '2027-03-14T12:00:00Z',
    stages: { first_api_call: '2027-03-14T13:00:00Z' },
    requests: [
      ['2027-03-14T13:00:00Z', '/v1/a', 200, true],
      ['2027-03-15T01:00:00Z', '/v1/b', 401, true],
    ],
  },
  {
    id: 'z1',
    channel: 'organic_search',
    accountType: 'individual',
    signup: '2027-03-20T00:00:00Z',
    stages: { first_api_call: '2027-03-20T01:00:00Z' },
    requests: [['2027-03-20T01:00:00Z', '/v1/a', 200, true]],
  },
];

const share = (sdk: number, raw: number) => ({ sdk, raw, sdkShare: sdk + raw === 0 ? null : sdk / (sdk + raw) });
const bucket = (name: '1' | '2' | '3+', developers: number, reached: number) => ({
  bucket: name,
  developers,
  production: { reached, rate: developers === 0 ? null : reached / developers },
});
/** First-session figures: requests, errors (4xx/5xx), then the 401, 400, 429, 5xx counts. */
const session = (requests: number, errors: number, s401: number, s400: number, s429: number, s5xx: number) => {
  const rate = (n: number) => (requests === 0 ? null : n / requests);
  return {
    requests,
    errors: { requests: errors, rate: rate(errors) },
    statuses: (
      [
        ['401', s401],
        ['400', s400],
        ['429', s429],
        ['5xx', s5xx],
      ] as const
    ).map(([status, n]) => ({ status, requests: n, rate: rate(n), diagnosis: DIAGNOSIS[status] })),
  };
};

describe.each(databaseBackends())('the usage metrics API (%s)', (backend) => {
  let api: MetricsTestApp;

  beforeAll(async () => {
    api = await startMetricsTestApp(backend);
    const q = (text: string, values?: unknown[]) => api.db.pool.query(text, values);
    await api.insertDevelopers(FIXTURES);
    for (const f of FIXTURES) {
      for (const [i, [at, endpoint, status, sdk]] of (f.requests ?? []).entries()) {
        await q(`INSERT INTO events (id, type, developer_id, occurred_at, endpoint, status, mode, sdk) VALUES ($1, 'api.request', $2, $3, $4, $5, 'test', $6)`, [
          `${f.id}-req-${i}`,
          f.id,
          at,
          endpoint,
          status,
          sdk,
        ]);
      }
    }
    await q(RECOUNT_ENDPOINT_TOTALS);
    // Not a request: neither the start of d1's first session nor a raw call.
    await q(`INSERT INTO events (id, type, developer_id, occurred_at) VALUES ('d1-quickstart', 'quickstart.completed', 'd1', '2026-11-30T10:15:00Z')`);
  });
  afterAll(async () => {
    await api?.close();
  });

  it('SDK vs raw HTTP share of developers (strict majority of their requests) and of requests, per ISO week and overall', async () => {
    const body = await api.ok(`/v1/metrics/sdk?asOf=${AS_OF}`);
    expect(body.asOf).toBe(AS_OF);
    expect(body.cohorts).toEqual([
      // d1 SDK, d2 raw (3–3 tie), d3 no requests. Requests: sdk 5 + 3 = 8, raw 2 + 3 = 5 → 8/13.
      { cohort: '2026-W49', developers: share(1, 1), requests: share(8, 5) },
      // e1 SDK (2 sdk), e2 raw (3 raw + 1 without a flag). Requests 2 sdk, 4 raw → 1/3.
      { cohort: '2026-W53', developers: share(1, 1), requests: share(2, 4) },
      // f1: one request up to AS_OF (its 401 at 03-15T01:00 comes later).
      { cohort: '2027-W10', developers: share(1, 0), requests: share(1, 0) },
    ]);
    // Developers 3 SDK (d1 e1 f1), 2 raw (d2 e2) → 0.6; requests 11 sdk, 9 raw → 0.55. z1 nowhere.
    expect(body.overall).toEqual({ developers: { sdk: 3, raw: 2, sdkShare: 0.6 }, requests: { sdk: 11, raw: 9, sdkShare: 0.55 } });
  });

  it('first-session depth: distinct 2xx endpoints within 24 h of the first call, buckets with production rates', async () => {
    const body = await api.ok(`/v1/metrics/depth?asOf=${AS_OF}`, METRICS_TEST_KEYS.metrics);
    expect(body.cohorts).toEqual([
      // d1: /a /b /c (the /c 200 is exactly 24 h after the first call) = 3, production; d2: /a /b = 2, none.
      {
        cohort: '2026-W49',
        developers: 2,
        excluded: 0,
        buckets: [bucket('1', 0, 0), bucket('2', 1, 0), bucket('3+', 1, 1)],
        distribution: [
          { endpoints: 2, developers: 1 },
          { endpoints: 3, developers: 1 },
        ],
      },
      // e1: /a (its /b 1 ms too late), production; e2: /b (400s and a 503 are not successes). 1 of 2 → 0.5.
      { cohort: '2026-W53', developers: 2, excluded: 0, buckets: [bucket('1', 2, 1), bucket('2', 0, 0), bucket('3+', 0, 0)], distribution: [{ endpoints: 1, developers: 2 }] },
      // f1's first call + 24 h = 03-15T13:00 > AS_OF: excluded.
      { cohort: '2027-W10', developers: 0, excluded: 1, buckets: [bucket('1', 0, 0), bucket('2', 0, 0), bucket('3+', 0, 0)], distribution: [] },
    ]);
    expect(body.overall).toEqual({
      developers: 4,
      excluded: 1,
      // 1: e1 e2 (e1 production) → 0.5; 2: d2 → 0; 3+: d1 → 1.
      buckets: [bucket('1', 2, 1), bucket('2', 1, 0), bucket('3+', 1, 1)],
      distribution: [
        { endpoints: 1, developers: 2 },
        { endpoints: 2, developers: 1 },
        { endpoints: 3, developers: 1 },
      ],
    });
    expect(body.overall.buckets[0].production.rate).toBe(0.5);
  });

  it('first-session error rates by status with the reference diagnosis, per ISO week, overall and by endpoint', async () => {
    const body = await api.ok(`/v1/metrics/errors?asOf=${AS_OF}`);
    // W49: d1 5 requests (401, 200, 200, 400, 404: errors 3) + d2 5 (401, 401, 200, 429, 500: errors 4)
    //   = 10 requests, errors 7; 401 ×3, 400 ×1, 429 ×1, 5xx ×1 (the 404 is an error of no class).
    // W53: e1 1 (200) + e2 4 (400, 400, 200, 503) = 5, errors 3; 400 ×2, 5xx ×1.
    // W10: f1 1 (200; its 401 is after AS_OF).
    expect(body.cohorts).toEqual([
      { cohort: '2026-W49', developers: 2, ...session(10, 7, 3, 1, 1, 1) },
      { cohort: '2026-W53', developers: 2, ...session(5, 3, 0, 2, 0, 1) },
      { cohort: '2027-W10', developers: 1, ...session(1, 0, 0, 0, 0, 0) },
    ]);
    // 16 requests, errors 10: 401 3/16, 400 3/16, 429 1/16, 5xx 2/16.
    expect(body.overall).toEqual({ developers: 5, ...session(16, 10, 3, 3, 1, 2) });
    expect(body.overall.statuses[0]).toEqual({ status: '401', requests: 3, rate: 0.1875, diagnosis: expect.stringContaining('credentials') });
    expect(body.overall.statuses[3].diagnosis).toBeNull();
    // By endpoint (session requests only):
    //   /v1/a: d1 401 200 | d2 401 401 200 429 500 | e1 200 | e2 503 | f1 200 = 10 requests, errors 6 (401 ×3, 429, 5xx ×2), 5 developers
    //   /v1/b: d1 200 400 | e2 400 400 200 = 5, errors 3 (400 ×3), 2 developers
    //   /v1/c: d1 404 = 1, errors 1, no class
    expect(body.endpoints).toEqual([
      { endpoint: '/v1/a', developers: 5, ...session(10, 6, 3, 0, 1, 2) },
      { endpoint: '/v1/b', developers: 2, ...session(5, 3, 0, 3, 0, 0) },
      { endpoint: '/v1/c', developers: 1, ...session(1, 1, 0, 0, 0, 0) },
    ]);
    const top = await api.ok(`/v1/metrics/errors?asOf=${AS_OF}&limit=2`);
    expect(top.endpoints.map((e: { endpoint: string }) => e.endpoint)).toEqual(['/v1/a', '/v1/b']);
  });

  it('filters by channel, account type, org and signup days', async () => {
    // paid: d2 (3 sdk, 3 raw: raw developer), e2 (4 raw). Requests 3 sdk / 10 → 0.3.
    const paid = await api.ok(`/v1/metrics/sdk?asOf=${AS_OF}&channel=paid`);
    expect(paid.overall).toEqual({ developers: share(0, 2), requests: share(3, 7) });
    expect(paid.overall.requests.sdkShare).toBe(0.3);
    // organization: d2 only, depth 2.
    const orgs = await api.ok(`/v1/metrics/depth?asOf=${AS_OF}&accountType=organization`);
    expect(orgs.overall).toEqual({
      developers: 1,
      excluded: 0,
      buckets: [bucket('1', 0, 0), bucket('2', 1, 0), bucket('3+', 0, 0)],
      distribution: [{ endpoints: 2, developers: 1 }],
    });
    // org_1: d2's session, 5 requests, errors 4.
    const org1 = await api.ok(`/v1/metrics/errors?asOf=${AS_OF}&orgId=org_1`);
    expect(org1.overall).toEqual({ developers: 1, ...session(5, 4, 2, 0, 1, 1) });
    expect(org1.cohorts.map((c: { cohort: string }) => c.cohort)).toEqual(['2026-W49']);
    // 2026-12-31 .. 2027-01-02, inclusive days: e1 and e2, W53.
    const days = await api.ok(`/v1/metrics/errors?asOf=${AS_OF}&from=2026-12-31&to=2027-01-02`);
    expect(days.overall).toEqual({ developers: 2, ...session(5, 3, 0, 2, 0, 1) });
  });

  it('is reproducible as of an instant: later requests, stages and signups change nothing', async () => {
    const earlier = '2027-01-01T12:00:00.000Z';
    const urls = ['sdk', 'depth', 'errors'].flatMap((m) => [`/v1/metrics/${m}?asOf=${earlier}`, `/v1/metrics/${m}?asOf=${AS_OF}`]);
    const before = await Promise.all(urls.map((url) => api.ok(url)));
    // As of 01-01T12:00: d1 d2 d3 e1 have signed up; e1's second request (01-02) has not happened.
    //   Developers SDK d1 e1, raw d2 → 2/3; requests sdk 5 + 3 + 1 = 9, raw 2 + 3 = 5.
    expect(before[0].overall).toEqual({ developers: share(2, 1), requests: share(9, 5) });
    //   Depth: e1's 24 h end 01-02T00:00, after it: excluded. d1's production (01-10) has not happened: 3+ rate 0.
    expect(before[2].overall).toEqual({
      developers: 2,
      excluded: 1,
      buckets: [bucket('1', 0, 0), bucket('2', 1, 0), bucket('3+', 1, 0)],
      distribution: [
        { endpoints: 2, developers: 1 },
        { endpoints: 3, developers: 1 },
      ],
    });
    //   Errors: d1 5 + d2 5 + e1 1 = 11 requests, errors 7.
    expect(before[4].overall).toEqual({ developers: 3, ...session(11, 7, 3, 1, 1, 1) });

    // Rows dated after both instants: d3 calls at last (a 401, then its first call), a new developer signs up and calls.
    await api.expectUnchangedBy(urls, before, {
      insert: [
        `INSERT INTO events (id, type, developer_id, occurred_at, endpoint, status, sdk) VALUES
      ('late-1', 'api.request', 'd3', '2027-04-01T00:00:00Z', '/v1/a', 401, false), ('late-2', 'api.request', 'd3', '2027-04-01T00:01:00Z', '/v1/a', 200, true),
      ('late-3', 'api.request', 'z2', '2027-04-02T01:00:00Z', '/v1/b', 500, true)`,
        `INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id) VALUES ('d3', 'first_api_call', '2027-04-01T00:01:00Z', 'late-2')`,
        `INSERT INTO developers (id, account_type, acquisition_channel, signed_up_at) VALUES ('z2', 'individual', 'paid', '2027-04-02T00:00:00Z')`,
        RECOUNT_ENDPOINT_TOTALS,
      ],
      remove: [
        `DELETE FROM events WHERE id LIKE 'late-%'`,
        `DELETE FROM journey_stages WHERE cause_event_id = 'late-2'`,
        `DELETE FROM developers WHERE id = 'z2'`,
        RECOUNT_ENDPOINT_TOTALS,
      ],
    });

    const now = await api.ok('/v1/metrics/sdk');
    expect(Math.abs(Date.parse(now.asOf) - Date.now())).toBeLessThan(60_000);
  });

  it('answers 400 naming the parameter', async () => {
    const cases: [url: string, path: string, message: RegExp][] = [
      ['/v1/metrics/sdk?asOf=yesterday', 'asOf', /ISO-8601/],
      ['/v1/metrics/depth?channel=tv', 'channel', /organic_search/],
      ['/v1/metrics/depth?from=2027-02-30', 'from', /YYYY-MM-DD/],
      ['/v1/metrics/errors?accountType=team', 'accountType', /individual/],
      ['/v1/metrics/errors?limit=0', 'limit', /./],
      ['/v1/metrics/errors?limit=many', 'limit', /./],
    ];
    for (const [url, path, message] of cases) await api.expectBadParameter(url, path, message);
  });

  it('accepts the admin and the metrics key, and answers 401 to the ingest key and to none', async () => {
    await api.expectMetricsKeysOnly(['sdk', 'depth', 'errors'].map((endpoint) => `/v1/metrics/${endpoint}?asOf=${AS_OF}`));
  });

  it('documents the endpoints in the OpenAPI document', async () => {
    const paths = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json().paths;
    expect(Object.keys(paths)).toEqual(expect.arrayContaining(['/v1/metrics/sdk', '/v1/metrics/depth', '/v1/metrics/errors']));
    const parameters = paths['/v1/metrics/errors'].get.parameters.map((p: { name: string }) => p.name);
    expect(parameters).toEqual(expect.arrayContaining(['from', 'to', 'channel', 'accountType', 'orgId', 'asOf', 'limit']));
  });
});
