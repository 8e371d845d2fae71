import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsTestApp, type FixtureDeveloper, type MetricsTestApp } from '../support/metrics-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

const AS_OF = Date.parse('2027-03-15T00:00:00Z');
const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(AS_OF - days * DAY).toISOString();

/*
 * 28 paid individuals (fewer than MIN_SEGMENT_DEVELOPERS: the overall curve), each signing up and
 * getting a key at once (credential_provisioned, whose window is the shipped policy's no-first-call
 * 7 d):
 *   p1       key 50 days ago, first call a day later, then on to production → exit at 1 d
 *   a01–a12  key 40 days ago, first call 2 days later          → exit at 2 d
 *   b01–b12  key 30 days ago, no call                          → censored at 30 d
 *   c1, c2   key 3 days ago, no call                           → censored at 3 d
 *   q        key 1 day ago, no call                            → censored at 1 d
 * The curve of credential_provisioned: at 1 d, 28 observed that long, p1 leaves: S = 27/28; at 2 d,
 * 26 observed that long (all but p1 and q), 12 leave: S = 27/28 × (1 − 12/26) = 27/28 × 7/13, then
 * flat to 30 d.
 *   q:  t = 1 d, W = 7 d: S(8 d) / S(1 d) = 7/13, 12 observed through 8 d (b01–b12).
 *   c*: t = 3 d: S(10 d) / S(3 d) = 1, 12 observed through 10 d.
 *   b*: t = 30 d: no one observed through 37 d → unavailable.
 *   a*: in first_api_call for 38 d, W = 14 d: no one observed through 52 d → unavailable.
 * p1 reached production_deployment: the last stage, unavailable.
 */
const paid = (id: string, keyDaysAgo: number, stages: Record<string, string> = {}): FixtureDeveloper => ({
  id,
  channel: 'paid',
  accountType: 'individual',
  signup: daysAgo(keyDaysAgo),
  stages: { credential_provisioned: daysAgo(keyDaysAgo), ...stages },
});
const pad = (n: number) => String(n).padStart(2, '0');
const FIXTURES: FixtureDeveloper[] = [
  ...Array.from({ length: 12 }, (_, i) => paid(`a${pad(i + 1)}`, 40, { first_api_call: daysAgo(38) })),
  ...Array.from({ length: 12 }, (_, i) => paid(`b${pad(i + 1)}`, 30)),
  paid('c1', 3),
  paid('c2', 3),
  paid('q', 1),
  paid('p1', 50, { first_api_call: daysAgo(49), active_integration: daysAgo(45), production_deployment: daysAgo(40) }),
  // Ten minutes after AS_OF (after every other asOf below but one).
  paid('x', -10 / 1440),
];

describe.each(databaseBackends())('stagnation risk over HTTP (%s)', (backend) => {
  let api: MetricsTestApp;
  const asOf = new Date(AS_OF).toISOString();

  beforeAll(async () => {
    api = await startMetricsTestApp(backend);
    await api.insertDevelopers(FIXTURES);
  });
  afterAll(async () => {
    await api?.close();
  });

  it("gives a developer's risk from the stage's curve, with what it rests on", async () => {
    expect(await api.ok(`/v1/developers/q/risk?asOf=${asOf}`)).toEqual({
      asOf,
      id: 'q',
      stage: 'credential_provisioned',
      stageLabel: 'Credential provisioned',
      stageAt: daysAgo(1),
      timeInStageSeconds: 86_400,
      windowSeconds: 7 * 86_400,
      risk: expect.closeTo(7 / 13, 12) as number,
      unavailable: null,
      atRisk: 12,
      curveDevelopers: 28,
      curve: 'overall',
      segment: null,
    });
    expect(await api.ok(`/v1/developers/c1/risk?asOf=${asOf}`)).toMatchObject({ risk: 1, atRisk: 12 });
  });

  it('says when and why the risk is unavailable', async () => {
    expect(await api.ok(`/v1/developers/b01/risk?asOf=${asOf}`)).toMatchObject({ stage: 'credential_provisioned', risk: null, unavailable: 'too-few-at-risk', atRisk: 0 });
    expect(await api.ok(`/v1/developers/a01/risk?asOf=${asOf}`)).toMatchObject({ stage: 'first_api_call', windowSeconds: 14 * 86_400, risk: null, unavailable: 'too-few-at-risk' });
    expect(await api.ok(`/v1/developers/p1/risk?asOf=${asOf}`)).toMatchObject({
      stage: 'production_deployment',
      risk: null,
      unavailable: 'final-stage',
      windowSeconds: null,
      curve: null,
    });
    // As of before q signed up: unknown then.
    const early = await api.get(`/v1/developers/q/risk?asOf=${daysAgo(2)}`);
    expect(early.statusCode).toBe(404);
    expect(early.json()).toEqual({ errors: [{ path: 'id', message: 'no developer q signed up by asOf' }] });
    expect((await api.get('/v1/developers/nobody/risk')).statusCode).toBe(404);
  });

  it('as of an earlier instant, from the history known then', async () => {
    // 5 days earlier: c* and q had not signed up (25 in the curve); b01 at 25 d: no one observed through 32 d.
    const earlier = new Date(AS_OF - 5 * DAY).toISOString();
    expect(await api.ok(`/v1/developers/b01/risk?asOf=${earlier}`)).toMatchObject({ timeInStageSeconds: 25 * 86_400, risk: null, curveDevelopers: 25 });
  });

  it("builds the curves from the history to the start of asOf's hour, the time in stage to asOf", async () => {
    const later = new Date(AS_OF + 30 * 60_000).toISOString();
    // x (key 10 minutes into the hour) is known and has a risk, but is not in the curve yet: still 28 developers.
    expect(await api.ok(`/v1/developers/x/risk?asOf=${later}`)).toMatchObject({ timeInStageSeconds: 20 * 60, curveDevelopers: 28 });
    expect(await api.ok(`/v1/developers/q/risk?asOf=${later}`)).toMatchObject({ timeInStageSeconds: 86_400 + 30 * 60, curveDevelopers: 28, atRisk: 12 });
  });

  it('lists the risk and sorts by it, riskiest first, unavailable last, paging on', async () => {
    const all = await api.ok(`/v1/developers?asOf=${asOf}&limit=100`);
    const risk = Object.fromEntries(all.items.map((i: { id: string; risk: number | null }) => [i.id, i.risk]));
    expect(risk.q).toBeCloseTo(7 / 13, 12);
    expect(risk).toMatchObject({ c1: 1, c2: 1, b01: null, a01: null, p1: null });

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = await api.ok(`/v1/developers?asOf=${asOf}&sort=risk&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    const unavailable = FIXTURES.map((f) => f.id)
      .filter((id) => !['c1', 'c2', 'q', 'x'].includes(id))
      .sort();
    expect(seen).toEqual(['c1', 'c2', 'q', ...unavailable]);
    // Filters still apply: those in credential_provisioned, riskiest first.
    const keyed = await api.ok(`/v1/developers?asOf=${asOf}&sort=risk&stage=credential_provisioned&limit=4`);
    expect(keyed.items.map((i: { id: string }) => i.id)).toEqual(['c1', 'c2', 'q', 'b01']);
    // Only the stalled: none of those with a risk (asked for a slice at a time: two here), then the unavailable ones in id order.
    const stalled = await api.ok(`/v1/developers?asOf=${asOf}&sort=risk&stalled=true&limit=1`);
    expect(stalled.items.map((i: { id: string }) => i.id)).toEqual(['a01']);
    expect(stalled.nextCursor).not.toBeNull();
  });

  it('refuses an id-order cursor under sort=risk, naming the cursor', async () => {
    const byId = await api.ok(`/v1/developers?asOf=${asOf}&limit=2`);
    await api.expectBadParameter(`/v1/developers?asOf=${asOf}&sort=risk&cursor=${byId.nextCursor}`, 'cursor', /sorted by risk/);
    await api.expectBadParameter(`/v1/developers?sort=danger`, 'sort', /risk/);
  });

  it('takes the metrics and admin keys only', async () => {
    await api.expectMetricsKeysOnly([`/v1/developers/q/risk?asOf=${asOf}`, '/v1/developers?sort=risk']);
  });
});
