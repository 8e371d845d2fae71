import type { AddressInfo } from 'node:net';
import { Client } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertEvaluator } from '../../src/alerts/alert-evaluator.ts';
import { assembleOnramp } from '../../src/assembly/assemble-onramp.ts';
import { AlertsStore } from '../../src/rules/alerts-store.ts';
import { SlackGateway } from '../../src/slack/slack-gateway.ts';
import { WebhookTransport } from '../../src/webhooks/send-webhook.ts';
import { WebhookDispatcher } from '../../src/webhooks/webhook-dispatcher.ts';
import { WebhookStore } from '../../src/webhooks/webhook-store.ts';
import { runOnramp } from '../support/onramp-cli.ts';
import { eventually } from '../support/eventually.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { shippedFunnelInForce } from '../support/shipped-funnel.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';
import { startWebhookReceiver } from '../support/webhook-receiver.ts';

const KEYS = { ingest: 'alerts-test-ingest-key-0123', admin: 'alerts-test-admin-key-01234', metrics: 'alerts-test-read-key-012345' } as const;
const TOKEN = 'xoxb-alerts-test';
const PUBLIC_URL = 'https://onramp.example.com';
const HOUR = 3_600_000;
/** Wednesday of 2026-W50: 2026-W49 is the last complete signup week. */
const NOW = new Date('2026-12-09T12:00:00Z');
const SOURCE = `slack: { channel: "#onboarding-alerts" }\n`;

/**
 * Data under which each kind fires at NOW:
 * - 2026-W49: 150 signups (Tuesday), 20 of them at their first call 3 days later: 13.3 % within 7
 *   days, the warning band; their time to first call (72 h) is far above the 1 h of the four weeks before;
 * - 2026-W45 to W48: 25 signups each, all at their first call within the hour (not enough to band);
 * - one developer whose first session began 2 h ago: 25 of 30 requests on POST /v1/charges failed in the last hour;
 * - the segment source last received something 7 hours ago.
 */
async function seed(app: TestApp) {
  const q = (sql: string, params: unknown[] = []) => app.db.pool.query(sql, params);
  const cohort = async (prefix: string, signup: string, count: number, called: number, after: string) => {
    await q(`INSERT INTO developers (id, account_type, acquisition_channel, signed_up_at) SELECT $1 || n, 'individual', 'organic', $2::timestamptz FROM generate_series(1, $3) n`, [
      prefix,
      signup,
      count,
    ]);
    await q(
      `INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id) SELECT $1 || n, 'account_created', $2::timestamptz, $1 || n || '-signup' FROM generate_series(1, $3) n`,
      [prefix, signup, count],
    );
    await q(
      `INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id) SELECT $1 || n, 'first_api_call', $2::timestamptz + $4::interval, $1 || n || '-call' FROM generate_series(1, $3) n`,
      [prefix, signup, called, after],
    );
  };
  for (const [i, day] of ['2026-11-03', '2026-11-10', '2026-11-17', '2026-11-24'].entries()) await cohort(`base${i}_`, `${day}T10:00:00Z`, 25, 25, '30 minutes');
  await cohort('w49_', '2026-12-01T10:00:00Z', 150, 20, '3 days');
  await q(`INSERT INTO developer_endpoints (developer_id, endpoint, requests, first_at, last_at) VALUES ('dev_errors', 'POST /v1/charges', 30, $1, $2)`, [
    new Date(NOW.getTime() - 2 * HOUR),
    NOW,
  ]);
  await q(`INSERT INTO events (id, type, developer_id, occurred_at, endpoint, status) VALUES ('first-request', 'api.request', 'dev_errors', $1, 'POST /v1/charges', 200)`, [
    new Date(NOW.getTime() - 2 * HOUR),
  ]);
  await errorRequests(app, 'spike1', NOW);
  await q(`INSERT INTO source_stats (source, last_received_at, accepted) VALUES ('segment', $1, 10)`, [new Date(NOW.getTime() - 7 * HOUR)]);
}

/** 30 first-session requests on POST /v1/charges in the hour before `at`, 25 of them 500s. */
async function errorRequests(app: TestApp, prefix: string, at: Date) {
  await app.db.pool.query(
    `INSERT INTO events (id, type, developer_id, occurred_at, endpoint, status)
     SELECT $1 || n, 'api.request', 'dev_errors', $2::timestamptz - n * interval '1 minute', 'POST /v1/charges', CASE WHEN n <= 25 THEN 500 ELSE 200 END FROM generate_series(1, 30) n`,
    [prefix, at],
  );
}

describe.each(databaseBackends())('alerts on %s (a local Slack server, a local webhook receiver)', (backend) => {
  let app: TestApp;
  let slack: FakeSlack;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let dispatcher: WebhookDispatcher;
  let transport: WebhookTransport;
  let evaluator: AlertEvaluator;
  let clock = NOW;
  const put = (source: string) =>
    app.app.inject({ method: 'PUT', url: '/v1/alerts', headers: { authorization: `Bearer ${KEYS.admin}` }, payload: { source, author: 'growth@example.com', reason: 'test' } });
  const alertsPosted = () => slack.calls('chat.postMessage').filter((c) => c.status === 200);
  const delivered = () => receiver.accepted().map((r) => JSON.parse(r.body) as { type: string; data: { kind: string; subject: string; link: string } });

  beforeAll(async () => {
    app = await startTestApp(backend, { keys: KEYS });
    slack = await startFakeSlack({ token: TOKEN });
    receiver = await startWebhookReceiver();
    transport = new WebhookTransport({ allowedAddresses: ['127.0.0.1'], timeoutMs: 2_000 });
    dispatcher = new WebhookDispatcher({ pool: app.db.pool, transport, logger: pino({ level: 'silent' }), pollIntervalMs: 20 });
    await new WebhookStore(app.db.pool).create({ url: receiver.url, events: ['alert.fired', 'alert.resolved'], author: 'test' });
    expect((await put(SOURCE)).statusCode).toBe(201);
    await seed(app);
    evaluator = new AlertEvaluator({
      pool: app.db.pool,
      store: new AlertsStore(app.db.pool),
      funnel: shippedFunnelInForce,
      publicUrl: PUBLIC_URL,
      slack: new SlackGateway({ token: TOKEN, slackApiUrl: slack.slackApiUrl, retryConfig: { retries: 0 } }),
      logger: pino({ level: 'silent' }),
      now: () => clock,
    });
    dispatcher.start();
  });
  afterAll(async () => {
    await dispatcher?.stop();
    transport?.close();
    await receiver?.close();
    await slack?.close();
    await app?.close();
  });

  it('fires each kind once: one Slack message with its dashboard link and one webhook event per condition, however often it is evaluated', async () => {
    expect(await evaluator.evaluate()).toEqual({ fired: 4, cleared: 0, posted: 4 });
    expect(await evaluator.evaluate()).toEqual({ fired: 0, cleared: 0, posted: 0 });

    const texts = alertsPosted().map((c) => String(c.params.text));
    expect(texts).toHaveLength(4);
    expect(texts.every((t) => slack.channelId('onboarding-alerts') !== undefined && t.startsWith(':rotating_light:'))).toBe(true);
    expect(texts.find((t) => t.includes('warning band'))).toContain(`<${PUBLIC_URL}/dashboard?from=2026-11-30&to=2026-12-06#funnelPanel|`);
    expect(texts.find((t) => t.includes('Time to first call p90'))).toContain(`<${PUBLIC_URL}/dashboard?from=2026-11-02&to=2026-12-06#ttfacPanel|`);
    expect(texts.find((t) => t.includes('POST /v1/charges'))).toContain(`<${PUBLIC_URL}/dashboard#errorsPanel|`);
    expect(texts.find((t) => t.includes('segment source'))).toContain(`<${PUBLIC_URL}/dashboard#dataQuality|`);

    await eventually(() => expect(delivered()).toHaveLength(4), { describe: 'four alert.fired events delivered' });
    expect(
      delivered()
        .map((e) => `${e.type} ${e.data.kind} ${e.data.subject}`)
        .sort(),
    ).toEqual([
      'alert.fired conversionBelowBand account_created:first_api_call:7d',
      'alert.fired endpointErrorSpike POST /v1/charges',
      'alert.fired sourceSilent segment',
      'alert.fired ttfacTail p90',
    ]);

    const fired = await app.app.inject({ method: 'GET', url: '/v1/alerts/fired?open=true', headers: { authorization: `Bearer ${KEYS.metrics}` } });
    expect(fired.statusCode).toBe(200);
    const { alerts } = fired.json<{ alerts: { kind: string; period: string; slack: { ts: string | null } | null; clearedAt: string | null }[] }>();
    expect(alerts).toHaveLength(4);
    expect(alerts.every((a) => a.slack?.ts && a.clearedAt === null)).toBe(true);
    expect(alerts.find((a) => a.kind === 'conversionBelowBand')?.period).toBe('2026-W49');

    // The same from the command line: one line per alert with the view that shows it.
    const url = await app.app.listen({ host: '127.0.0.1', port: 0 });
    const cli = await runOnramp(['alerts', 'fired', '--open', '--url', url, '--key', KEYS.admin]);
    expect(cli.code, cli.stderr).toBe(0);
    const lines = cli.stdout.split('\n');
    expect(
      lines
        .filter((l) => / OPEN {2}/.test(l))
        .map((l) => l.split('  ')[2])
        .sort(),
    ).toEqual(['conversionBelowBand', 'endpointErrorSpike', 'sourceSilent', 'ttfacTail']);
    expect(lines.filter((l) => l.startsWith('    http')).length).toBe(4);
    const both = await runOnramp(['alerts', 'fired', '--open', '--cleared', '--url', url, '--key', KEYS.admin]);
    expect([both.code, both.stderr.trim()]).toEqual([1, "error: option '--open' cannot be used with option '--cleared'"]);
  });

  it('finds a message already posted by its post key instead of posting it again (a crash between the post and its bookkeeping)', async () => {
    await app.db.pool.query(`UPDATE alerts SET slack_ts = NULL WHERE kind = 'sourceSilent'`);
    const before = alertsPosted().length;
    expect(await evaluator.evaluate()).toEqual({ fired: 0, cleared: 0, posted: 1 });
    expect(alertsPosted()).toHaveLength(before);
    const { rows } = await app.db.pool.query(`SELECT slack_ts FROM alerts WHERE kind = 'sourceSilent'`);
    expect(rows[0].slack_ts).toEqual(expect.any(String));
  });

  it('stops posting an alert Slack refuses for good (its channel deleted): the row and the API say why, and Slack is not asked again', async () => {
    const { rows: before } = await app.db.pool.query<{ slack_ts: string; slack_channel: string }>(`SELECT slack_ts, slack_channel FROM alerts WHERE kind = 'sourceSilent'`);
    await app.db.pool.query(`UPDATE alerts SET slack_ts = NULL WHERE kind = 'sourceSilent'`);
    slack.failNext('conversations.history', 1, { error: 'channel_not_found' });
    expect(await evaluator.evaluate()).toEqual({ fired: 0, cleared: 0, posted: 0 });
    const calls = slack.calls().length;
    expect(await evaluator.evaluate()).toEqual({ fired: 0, cleared: 0, posted: 0 });
    expect(slack.calls()).toHaveLength(calls);
    const fired = await app.app.inject({ method: 'GET', url: '/v1/alerts/fired?open=true&kind=sourceSilent', headers: { authorization: `Bearer ${KEYS.metrics}` } });
    expect(fired.json<{ alerts: { slack: unknown }[] }>().alerts.map((a) => a.slack)).toEqual([{ channel: before[0]!.slack_channel, ts: null, error: 'channel_not_found' }]);
    const { address, port } = app.app.server.address() as AddressInfo;
    const cli = await runOnramp(['alerts', 'fired', '--open', '--kind', 'sourceSilent', '--url', `http://${address}:${port}`, '--key', KEYS.admin]);
    expect(cli.stdout.trim().split('\n').at(-1)).toBe('    not posted: Slack refused it (channel_not_found)');
    // As it was, for the cases below.
    await app.db.pool.query(`UPDATE alerts SET slack_ts = $1, slack_error = NULL WHERE kind = 'sourceSilent'`, [before[0]!.slack_ts]);
  });

  it('clears what no longer holds (alert.resolved), and a cleared condition fires again later as a new alert', async () => {
    const posted = alertsPosted().length;
    // Seven hours on: the error spike is out of its window, and segment (quiet 14 h) is the same silence.
    clock = new Date(NOW.getTime() + 7 * HOUR);
    expect(await evaluator.evaluate()).toEqual({ fired: 0, cleared: 1, posted: 0 });
    await eventually(
      () =>
        expect(
          delivered()
            .filter((e) => e.type === 'alert.resolved')
            .map((e) => e.data.kind),
        ).toEqual(['endpointErrorSpike']),
      {
        describe: 'the spike resolved',
      },
    );

    // The endpoint recovered (a thousand good requests since), then fails again: the same condition fires anew, one more message and event.
    await app.db.pool.query(
      `INSERT INTO events (id, type, developer_id, occurred_at, endpoint, status)
       SELECT 'ok' || n, 'api.request', 'dev_errors', $1::timestamptz + n * interval '15 seconds', 'POST /v1/charges', 200 FROM generate_series(1, 1000) n`,
      [new Date(NOW.getTime() + HOUR)],
    );
    await errorRequests(app, 'spike2', clock);
    expect(await evaluator.evaluate()).toEqual({ fired: 1, cleared: 0, posted: 1 });
    expect(await evaluator.evaluate()).toEqual({ fired: 0, cleared: 0, posted: 0 });
    expect(alertsPosted()).toHaveLength(posted + 1);
    expect(String(alertsPosted().at(-1)!.params.text)).toContain('POST /v1/charges');
    await eventually(() => expect(delivered().filter((e) => e.type === 'alert.fired' && e.data.kind === 'endpointErrorSpike')).toHaveLength(2), {
      describe: 'the spike fired twice',
    });
    // Nothing more than those: each firing once.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(delivered()).toHaveLength(6);
    const { rows } = await app.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM alerts WHERE kind = 'endpointErrorSpike'`);
    expect(Number(rows[0]!.n)).toBe(2);
  });

  it('evaluates on its own beside an assembled API, and stops with it', async () => {
    await app.db.pool.query(`INSERT INTO source_stats (source, last_received_at, accepted) VALUES ('kong', $1, 1)`, [new Date(clock.getTime() - 7 * HOUR)]);
    const onramp = await assembleOnramp({
      db: app.db,
      temporal: new Client(),
      dispatcher: { run: false },
      webhooks: { run: false },
      api: { ingestKeys: [KEYS.ingest], adminKeys: [KEYS.admin], signingSecret: 's'.repeat(32) },
      alerts: { everyMs: 50, publicUrl: PUBLIC_URL, slack: new SlackGateway({ token: TOKEN, slackApiUrl: slack.slackApiUrl }), now: () => clock },
    });
    try {
      await eventually(
        async () => {
          const { rows } = await app.db.pool.query(`SELECT slack_ts FROM alerts WHERE kind = 'sourceSilent' AND subject = 'kong'`);
          expect(rows).toEqual([{ slack_ts: expect.any(String) }]);
        },
        { describe: 'the silent kong source posted by the running evaluator' },
      );
    } finally {
      await onramp.stop();
    }
    expect(alertsPosted().filter((c) => String(c.params.text).includes('kong source'))).toHaveLength(1);
  });

  it('refuses a bad alerts document with a 400 naming the field, and stores nothing', async () => {
    const history = async () =>
      (await app.app.inject({ method: 'GET', url: '/v1/alerts/history', headers: { authorization: `Bearer ${KEYS.admin}` } })).json<{ versions: unknown[] }>().versions;
    const versions = (await history()).length;
    const response = await put('ttfacTail: { riseAbove: 0.5 }\nsourceSilent: { after: soon }\n');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      errors: [
        { path: 'ttfacTail.riseAbove', message: 'must be greater than 1', line: 1, column: 25 },
        { path: 'sourceSilent.after', message: 'must be a positive duration like "90m", "24h" or "3d"', line: 2, column: 24 },
      ],
    });
    expect(await history()).toHaveLength(versions);
  });
});
