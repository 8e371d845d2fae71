import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escalationPolicyDocument } from '../../src/rules/escalation-policy-schema.ts';
import { METRICS_TEST_KEYS, startMetricsTestApp, type FixtureDeveloper, type MetricsTestApp } from '../support/metrics-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

/** Every figure below is computed as of this instant. */
const AS_OF = '2027-03-15T00:00:00.000Z';

/*
 * Six developers in two ISO signup weeks, each with one case (resolved unless said otherwise):
 *   2027-W05: a1 organic, opened in first_api_call, authentication_confusion; first session: 401s
 *             a2 organic, opened in first_api_call, authentication_confusion; first session: 200s only (its 401 came 2 days later)
 *             a3 paid,    opened in credential_provisioned, missing_docs; first session: 400 and 429
 *   2027-W09: b1 paid,    opened in credential_provisioned, no friction recorded
 *             b2 organic, opened in first_api_call, sdk_gap, resolved on 03-16 (after AS_OF): not counted
 *             b3 referral, opened in credential_provisioned, still open: not counted
 *   c1 (2027-W09, paid) resolved with `legacy_friction`, a friction since removed from the policy
 */
const developers: FixtureDeveloper[] = [
  { id: 'a1', channel: 'organic_search', accountType: 'individual', signup: '2027-02-01T10:00:00Z' },
  { id: 'a2', channel: 'organic_search', accountType: 'individual', signup: '2027-02-02T10:00:00Z' },
  { id: 'a3', channel: 'paid', accountType: 'individual', signup: '2027-02-03T10:00:00Z' },
  { id: 'b1', channel: 'paid', accountType: 'individual', signup: '2027-03-01T10:00:00Z' },
  { id: 'b2', channel: 'organic_search', accountType: 'individual', signup: '2027-03-02T10:00:00Z' },
  { id: 'b3', channel: 'referral', accountType: 'individual', signup: '2027-03-03T10:00:00Z' },
  { id: 'c1', channel: 'paid', accountType: 'individual', signup: '2027-03-04T10:00:00Z' },
];

interface Case {
  developer: string;
  stage: string;
  status: 'resolved' | 'open';
  closed?: string;
  friction?: string;
}
const cases: Case[] = [
  { developer: 'a1', stage: 'first_api_call', status: 'resolved', closed: '2027-02-10T00:00:00Z', friction: 'authentication_confusion' },
  { developer: 'a2', stage: 'first_api_call', status: 'resolved', closed: '2027-02-11T00:00:00Z', friction: 'authentication_confusion' },
  { developer: 'a3', stage: 'credential_provisioned', status: 'resolved', closed: '2027-02-12T00:00:00Z', friction: 'missing_docs' },
  { developer: 'b1', stage: 'credential_provisioned', status: 'resolved', closed: '2027-03-10T00:00:00Z' },
  { developer: 'b2', stage: 'first_api_call', status: 'resolved', closed: '2027-03-16T00:00:00Z', friction: 'sdk_gap' },
  { developer: 'b3', stage: 'credential_provisioned', status: 'open' },
  { developer: 'c1', stage: 'first_api_call', status: 'resolved', closed: '2027-03-11T00:00:00Z', friction: 'legacy_friction' },
];
/** [developer, at, status]: a1's first session has 401s; a2's only 200s (a 401 two days later); a3's a 400 and a 429. */
const requests: [string, string, number][] = [
  ['a1', '2027-02-03T10:00:00Z', 401],
  ['a1', '2027-02-03T10:05:00Z', 401],
  ['a2', '2027-02-03T10:00:00Z', 200],
  ['a2', '2027-02-05T10:00:00Z', 401],
  ['a3', '2027-02-04T10:00:00Z', 400],
  ['a3', '2027-02-04T11:00:00Z', 429],
];

const none = { '401': 0, '400': 0, '429': 0, '5xx': 0 };

describe.each(databaseBackends())('GET /v1/metrics/frictions (%s)', (backend) => {
  let api: MetricsTestApp;

  beforeAll(async () => {
    api = await startMetricsTestApp(backend);
    await api.insertDevelopers(developers);
    const q = (sql: string, params: unknown[]) => api.db.pool.query(sql, params);
    for (const c of cases) {
      const id = `${c.developer}/h1`;
      await q(
        `INSERT INTO handoffs (id, developer_id, status, criterion, level, opened_at, closed_at, outcome, friction, revision, view)
         VALUES ($1, $2, $3, 'stall:test', 1, '2027-02-08T00:00:00Z', $4, $5, $6, 2, '{}')`,
        [id, c.developer, c.status, c.closed ?? null, c.closed ? 'unblocked' : null, c.friction ?? null],
      );
      await q(`INSERT INTO handoff_steps (step_key, handoff_id, developer_id, step, at, detail, snapshot) VALUES ($1, $2, $3, 'escalated', '2027-02-08T00:00:00Z', '{}', $4)`, [
        `${id}/1`,
        id,
        c.developer,
        JSON.stringify({ stage: c.stage, stageReachedAt: null }),
      ]);
    }
    for (const [n, [developer, at, status]] of requests.entries()) {
      await q(`INSERT INTO events (id, type, developer_id, occurred_at, endpoint, status) VALUES ($1, 'api.request', $2, $3, '/v1/charges', $4)`, [`r${n}`, developer, at, status]);
    }
    // The policy in force lists the shipped frictions (legacy_friction is not one of them any more).
    await q(`INSERT INTO escalation_policy_versions (version, document, source, author, reason, diff) VALUES (1, $1, '', 'test', 'test', '')`, [
      JSON.stringify(escalationPolicyDocument.parse({})),
    ]);
  }, 120_000);
  afterAll(async () => {
    await api?.close();
  });

  it('by stage (the stage the case opened in, in funnel order), with counts per friction and the first-session errors per friction', async () => {
    const report = await api.ok(`/v1/metrics/frictions?asOf=${AS_OF}`);
    expect(report.groupBy).toBe('stage');
    expect(report.groups).toEqual([
      { key: 'credential_provisioned', label: 'Credential provisioned', cases: 2, frictions: { missing_docs: 1 }, unrecorded: 1 },
      { key: 'first_api_call', label: 'First API call', cases: 3, frictions: { authentication_confusion: 2, legacy_friction: 1 }, unrecorded: 0 },
    ]);
    expect(report.overall).toEqual({ cases: 5, frictions: { authentication_confusion: 2, missing_docs: 1, legacy_friction: 1 }, unrecorded: 1 });
    expect(report.frictions).toEqual([
      { id: 'authentication_confusion', label: 'Authentication confusion', cases: 2, firstSessionErrors: { ...none, '401': 1 } },
      { id: 'missing_docs', label: 'Missing docs', cases: 1, firstSessionErrors: { ...none, '400': 1, '429': 1 } },
      { id: 'rate_limits', label: 'Rate limits', cases: 0, firstSessionErrors: none },
      { id: 'sdk_gap', label: 'SDK gap', cases: 0, firstSessionErrors: none },
      { id: 'not_a_fit', label: 'Not a fit', cases: 0, firstSessionErrors: none },
      { id: 'legacy_friction', label: 'Legacy friction', cases: 1, firstSessionErrors: none },
    ]);
  });

  it('by cohort (signup week, oldest first) and by channel (most cases first)', async () => {
    const byCohort = await api.ok(`/v1/metrics/frictions?asOf=${AS_OF}&groupBy=cohort`);
    expect(byCohort.groups).toEqual([
      { key: '2027-W05', label: '2027-W05', cases: 3, frictions: { authentication_confusion: 2, missing_docs: 1 }, unrecorded: 0 },
      { key: '2027-W09', label: '2027-W09', cases: 2, frictions: { legacy_friction: 1 }, unrecorded: 1 },
    ]);
    const byChannel = await api.ok(`/v1/metrics/frictions?asOf=${AS_OF}&groupBy=channel`);
    expect(byChannel.groups).toEqual([
      { key: 'paid', label: 'paid', cases: 3, frictions: { missing_docs: 1, legacy_friction: 1 }, unrecorded: 1 },
      { key: 'organic_search', label: 'organic_search', cases: 2, frictions: { authentication_confusion: 2 }, unrecorded: 0 },
    ]);
  });

  it('takes the filters and the window of the other metrics, and later resolutions in a later asOf', async () => {
    const w05 = await api.ok(`/v1/metrics/frictions?asOf=${AS_OF}&from=2027-02-01&to=2027-02-07&channel=paid`);
    expect(w05.overall).toEqual({ cases: 1, frictions: { missing_docs: 1 }, unrecorded: 0 });
    const later = await api.ok('/v1/metrics/frictions?asOf=2027-03-17T00:00:00Z&groupBy=cohort');
    expect(later.groups[1]).toMatchObject({ key: '2027-W09', cases: 3, frictions: { legacy_friction: 1, sdk_gap: 1 } });
    const bad = await api.get(`/v1/metrics/frictions?groupBy=week`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('groupBy');
    expect((await api.get('/v1/metrics/frictions?unit=organization')).statusCode).toBe(400);
    expect((await api.get('/v1/metrics/frictions', METRICS_TEST_KEYS.metrics)).statusCode).toBe(200);
    expect((await api.get('/v1/metrics/frictions', METRICS_TEST_KEYS.ingest)).statusCode).toBe(401);
  });
});
