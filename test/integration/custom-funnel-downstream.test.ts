import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimulation } from '../../src/cli/commands/simulate.ts';
import { DEFAULT_ERROR_RATES } from '../../src/simulator/personas.ts';
import { SlackGateway } from '../../src/slack/slack-gateway.ts';
import { eventually } from '../support/eventually.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { runOnramp } from '../support/onramp-cli.ts';
import { ADMIN_KEY, INGEST_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { signupWithKey } from '../support/signup-events.ts';
import { databaseBackends } from '../support/test-databases.ts';

/**
 * Everything downstream of a funnel of your own follows it: the journey API and `onramp journey`
 * show the stages of the version the journey follows by their labels (in its order), a Slack case
 * names them so, and `onramp simulate` makes events from the funnel's evidence that the engine
 * turns into exactly the stages the simulator meant. Real parts: the Temporal dev server,
 * PostgreSQL, the real WebClient against a local Slack.
 */

const TOKEN = 'xoxb-custom-funnel-downstream';
const HOUR = 3_600_000;

const FUNNEL = `stages:
  - id: signed_up
    label: Signed up
    evidence: [{ event: developer.signed_up }]
  - id: first_charge
    label: First sandbox charge
    role: first_call
    evidence: [{ request: { status: 2xx, method: POST, endpoint: /v1/charges } }]
  - id: webhook_listening
    evidence: [{ event: webhook.registered }]
  - id: live_payment
    label: Live payments
    role: production
    evidence: [{ event: payment.succeeded, where: { livemode: true } }]
`;
const RULES = `rules:
  - id: charge-help
    when: { stage: signed_up, after: 48h }
    action: { send: first-call-help }
`;
const POLICY = `criteria:
  stalls:
    - { id: no-webhook, since: first_charge, until: webhook_listening, after: 14d }
`;
const LABELS = ['Signed up', 'First sandbox charge', 'Webhook listening', 'Live payments'];

describe('downstream of a funnel of your own (dev server, PostgreSQL, a local Slack)', () => {
  const backend = databaseBackends()[0]!;
  let h: OnrampHarness;
  let slack: FakeSlack;
  let url: string;
  const admin = (method: 'GET' | 'PUT', path: string, payload?: object) =>
    h.app.inject({ method, url: path, headers: { authorization: `Bearer ${ADMIN_KEY}` }, ...(payload ? { payload } : {}) });
  const charge = (developerId: string, occurredAt: string) => ({
    id: `${developerId}-charge`,
    type: 'api.request',
    occurredAt,
    properties: { apiKey: `key_${developerId}`, endpoint: '/v1/charges', method: 'POST', status: 201, mode: 'test' },
  });
  const profile = { accountType: 'individual', acquisitionChannel: 'paid', timezone: 'UTC' } as const;

  beforeAll(async () => {
    slack = await startFakeSlack({ token: TOKEN });
    const gateway = new SlackGateway({ token: TOKEN, slackApiUrl: slack.slackApiUrl, retryConfig: { retries: 1, factor: 1, minTimeout: 10, maxTimeout: 20 } });
    h = await new OnrampHarness(backend, { gateway }).start();
    url = await h.app.listen({ host: '127.0.0.1', port: 0 });
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
    await slack?.close();
  });

  it('the journey API shows the version the journey follows: the shipped one until it hears of the change, then the new one, by its labels', async () => {
    const id = `${backend}_early`;
    const signedUp = new Date(Date.now() - 3 * HOUR).toISOString();
    expect((await h.post({ events: [...signupWithKey(id, signedUp, profile), charge(id, new Date(Date.now() - 2 * HOUR).toISOString())] })).statusCode).toBe(202);
    await h.waitForJourney(id, (j) => j.stage === 'first_api_call' && j.pendingSignals === 0);

    // The change is stored and recomputed while the journey cannot hear of it.
    await h.stopTemporal();
    const applied = await admin('PUT', '/v1/funnel', { source: FUNNEL, author: 'ada', reason: 'payments', rules: { source: RULES }, escalationPolicy: { source: POLICY } });
    expect(applied.statusCode, applied.body).toBe(201);
    await eventually(async () => (await admin('GET', '/v1/funnel/recomputation')).json(), { until: (s) => s.status === 'done', describe: 'the recomputation done' });
    const meanwhile = (await h.journey(id)).body;
    expect(meanwhile).toMatchObject({ funnelVersion: 1, stage: 'first_api_call' });
    expect(meanwhile.stages.map((s: { label: string }) => s.label)).toContain('First API call');

    await h.startTemporal();
    const followed = await h.waitForJourney(id, (j) => j.funnelVersion === 2, 90_000);
    expect(followed.stage).toBe('first_charge');
    expect(followed.stages.map((s: { stage: string; label: string; status: string }) => [s.stage, s.label, s.status])).toEqual([
      ['signed_up', 'Signed up', 'reached'],
      ['first_charge', 'First sandbox charge', 'reached'],
      ['webhook_listening', 'Webhook listening', 'pending'],
      ['live_payment', 'Live payments', 'pending'],
    ]);
  }, 240_000);

  it('`onramp journey` prints the stages by their labels in the funnel order, the transitions by their labels', async () => {
    const id = `${backend}_cli`;
    const signedUp = new Date(Date.now() - 5 * HOUR).toISOString();
    const webhook = {
      id: `${id}-w`,
      type: 'webhook.registered',
      developerId: id,
      occurredAt: new Date(Date.now() - HOUR).toISOString(),
      properties: { url: 'https://x.example.com', mode: 'test' },
    };
    expect((await h.post({ events: [...signupWithKey(id, signedUp, profile), charge(id, new Date(Date.now() - 4 * HOUR).toISOString()), webhook] })).statusCode).toBe(202);
    await h.waitForJourney(id, (j) => j.funnelVersion === 2 && j.stage === 'webhook_listening' && j.pendingSignals === 0);

    const run = await runOnramp(['journey', id, '--url', url, '--key', INGEST_KEY]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Developer ${id} +stage: Webhook listening +journey: running +funnel v2$`, 'm'));
    const stageLines = run.stdout.split('\n').filter((line) => /^ {2}[●○·] /.test(line));
    expect(stageLines.map((line) => line.slice(4).split(/ {2,}/)[0])).toEqual(LABELS);
    expect(run.stdout).toMatch(/Signed up +→ First sandbox charge/);
    expect(run.stdout).toMatch(/First sandbox charge +→ Webhook listening/);
  }, 120_000);

  it('a Slack case names the stages by the labels of the funnel the journey follows', async () => {
    const id = `${backend}_ticket`;
    const signedUp = new Date(Date.now() - 6 * HOUR).toISOString();
    const ticket = { id: `${id}-t`, type: 'support.ticket_created', developerId: id, occurredAt: new Date().toISOString(), properties: { subject: 'my charge fails' } };
    expect((await h.post({ events: [...signupWithKey(id, signedUp, profile), charge(id, new Date(Date.now() - 5 * HOUR).toISOString()), ticket] })).statusCode).toBe(202);
    const [posted] = await eventually(() => slack.messages('#onboarding-help').filter((m) => !m.thread_ts && m.text.includes(id)), {
      until: (m) => m.length > 0,
      describe: `the case of ${id} posted in #onboarding-help`,
    });
    const blocks = JSON.stringify(posted!.blocks);
    expect(posted!.text).toContain(`developer ${id} stuck in First sandbox charge`);
    expect(blocks).toContain(`Developer ${id} · First sandbox charge`);
    expect(blocks).toContain('Stuck in *First sandbox charge*');
    expect(blocks).toContain('reached Signed up');
    expect(blocks).toContain('reached First sandbox charge');
    expect(blocks).not.toMatch(/first_charge|first sandbox charge|account created|account_created/);
  }, 120_000);

  it('`onramp simulate` makes events from the funnel in force that the engine turns into exactly the stages it meant', async () => {
    const until = new Date(Math.floor(Date.now() / 1000) * 1000);
    const result = await runSimulation({
      url,
      ingestKey: INGEST_KEY,
      adminKey: ADMIN_KEY,
      developers: 40,
      days: 20,
      seed: 4,
      until,
      errorRates: DEFAULT_ERROR_RATES,
      lateShare: 0.1,
      duplicateShare: 0.05,
      followEmails: 0,
      quiet: true,
    });
    expect(result.funnel?.version).toBe(2);
    expect(result.notes).toEqual([]);
    const meant = result.developers.reduce((n, d) => n + Object.keys(d.truth.stages).length, 0);
    const rows = () =>
      h.db.pool.query<{ developer_id: string; stage: string; reached_at: Date }>(
        `SELECT developer_id, stage, reached_at FROM journey_stages WHERE funnel_version = 2 AND developer_id LIKE 'sim4-%'`,
      );
    const { rows: stages } = await eventually(rows, {
      until: (r) => r.rows.length >= meant,
      timeout: 120_000,
      interval: 250,
      describe: `${meant} journey_stages rows under version 2`,
    });
    const derived = new Map<string, Record<string, string>>();
    for (const row of stages) derived.set(row.developer_id, { ...derived.get(row.developer_id), [row.stage]: row.reached_at.toISOString() });
    for (const d of result.developers) expect(derived.get(d.profile.id) ?? {}, d.profile.id).toEqual(d.truth.stages);
    // The cohort went through the funnel, each stage reached by fewer.
    const reached = ['signed_up', 'first_charge', 'webhook_listening', 'live_payment'].map((stage) => result.developers.filter((d) => d.truth.stages[stage]).length);
    expect(reached[0]).toBeGreaterThan(0);
    for (let i = 1; i < reached.length; i++) expect(reached[i]).toBeLessThanOrEqual(reached[i - 1]!);
    expect(reached[2]).toBeGreaterThan(0);
  }, 240_000);
});
