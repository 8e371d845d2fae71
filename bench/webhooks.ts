/**
 * `npm run bench:webhooks`: outgoing webhook delivery against plain signed POSTs of the same
 * messages, in one run, on PostgreSQL (BENCH_DATABASE_URL or TEST_DATABASE_URL; PGlite otherwise),
 * to a local receiver that answers 204.
 *
 *   throughput  messages/s a dispatcher delivers from a queued backlog (DEVELOPERS × 10 messages:
 *               claimed head of line per developer, signed, POSTed, recorded)  vs  the same bodies
 *               signed and POSTed by the same transport, as many in flight, with no queue
 *   latency     a fact's commit → its arrival at the receiver, one at a time at idle, p50/p99
 *   emitting    stages recorded/s by the journey activity's statement with a subscription hearing
 *               `stage.reached` (each queues a message)  vs  with none (the fan-out joins nothing)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { createJourneyActivities } from '../src/activities/journey-activities.ts';
import { withTransaction } from '../src/db/sql.ts';
import { WebhookTransport } from '../src/webhooks/send-webhook.ts';
import { WebhookDispatcher } from '../src/webhooks/webhook-dispatcher.ts';
import { queueWebhookEvents, type WebhookEvent } from '../src/webhooks/webhook-events.ts';
import { signWebhook } from '../src/webhooks/webhook-signing.ts';
import { WebhookStore } from '../src/webhooks/webhook-store.ts';
import { benchDatabase, percentile, runMain, waitFor } from './bench-support.ts';

const DEVELOPERS = Number(process.env.WEBHOOK_BENCH_DEVELOPERS ?? 500);
const PER_DEVELOPER = 10;
const CONCURRENCY = 8;
const LATENCY_SAMPLES = 50;
const RECORDS = Number(process.env.WEBHOOK_BENCH_RECORDS ?? 2_000);

const fact = (developerId: string, n: number): WebhookEvent => ({
  type: 'stage.reached',
  developerId,
  key: `bench/${developerId}/${n}`,
  occurredAt: new Date(Date.UTC(2026, 11, 1) + n * 60_000).toISOString(),
  data: { developerId, stage: `stage_${n}`, funnelVersion: 1, late: false },
});

async function main() {
  const { backend, database, db } = await benchDatabase();
  let received = 0;
  const arrivals = new Map<string, number>();
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      arrivals.set(String(req.headers['webhook-id']), performance.now());
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const transport = new WebhookTransport({ allowedAddresses: ['127.0.0.1'] });
  const total = DEVELOPERS * PER_DEVELOPER;
  try {
    // Emitting: the journey activity's statement, 4 in flight, without then with a subscription.
    const { recordJourneyEffects } = createJourneyActivities({ pool: db.pool });
    const recordStages = async (prefix: string) => {
      let n = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let i = n++; i < RECORDS; i = n++) {
            const developerId = `${prefix}_${i}`;
            await recordJourneyEffects([
              { type: 'recordStage', developerId, funnelVersion: 1, stage: 'first_api_call', occurredAt: new Date().toISOString(), causeEventId: `e_${i}`, late: false },
            ]);
          }
        }),
      );
      return RECORDS / ((performance.now() - started) / 1000);
    };
    await recordStages('warm');
    const silentRate = await recordStages('quiet');
    const hook = await new WebhookStore(db.pool).create({ url, events: ['stage.reached'], author: 'bench' });
    const emittingRate = await recordStages('heard');
    await db.pool.query(`DELETE FROM webhook_deliveries`);

    const events = Array.from({ length: PER_DEVELOPER }, (_, n) => Array.from({ length: DEVELOPERS }, (_, d) => fact(`dev_${d}`, n))).flat();

    // Baseline: the same bodies, signed and POSTed by the same transport, CONCURRENCY in flight.
    const bodies = events.map((e) => JSON.stringify({ type: e.type, timestamp: e.occurredAt, data: e.data }));
    let next = 0;
    let started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < bodies.length; i = next++) {
          const result = await transport.post(url, signWebhook(`msg_raw_${i}`, new Date(), bodies[i]!, { secret: hook.secret }), bodies[i]!);
          if (result.status !== 204) throw new Error(`raw POST: ${result.error}`);
        }
      }),
    );
    const rawRate = total / ((performance.now() - started) / 1000);

    // Onramp: the backlog queued, then delivered by one dispatcher.
    for (let i = 0; i < events.length; i += 1000) await withTransaction(db.pool, (sql) => queueWebhookEvents(sql, events.slice(i, i + 1000)));
    received = 0;
    const dispatcher = new WebhookDispatcher({ pool: db.pool, transport, logger: pino({ level: 'warn' }), concurrency: CONCURRENCY, pollIntervalMs: 20 });
    started = performance.now();
    dispatcher.start();
    await waitFor(async () => received >= total, 600_000, 20);
    const dispatchRate = total / ((performance.now() - started) / 1000);
    await dispatcher.stop();

    // Latency at idle, with the default poll interval: commit → arrival.
    const idle = new WebhookDispatcher({ pool: db.pool, transport, logger: pino({ level: 'warn' }) });
    idle.start();
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const key = `bench/latency/${i}`;
      await withTransaction(db.pool, (sql) => queueWebhookEvents(sql, [{ ...fact(`lat_${i}`, 0), key }]));
      const committed = performance.now();
      const [{ id }] = (await db.pool.query<{ id: string }>('SELECT id FROM webhook_deliveries WHERE event_key = $1', [key])).rows as [{ id: string }];
      await waitFor(async () => arrivals.has(id), 30_000, 2);
      latencies.push(arrivals.get(id)! - committed);
    }
    await idle.stop();
    latencies.sort((a, b) => a - b);

    process.stdout.write(
      `\nWebhook delivery (${backend}, ${new Date().toISOString()})\n\n| what | Onramp | baseline, same run | ratio |\n|---|---|---|---|\n` +
        `| delivery of a backlog (${DEVELOPERS} developers × ${PER_DEVELOPER}, ${CONCURRENCY} in flight) | ${Math.round(dispatchRate)} messages/s | signed POSTs, no queue: ${Math.round(rawRate)}/s | ${(dispatchRate / rawRate).toFixed(2)}× |\n` +
        `| stages recorded by the journey activity, each queuing a message | ${Math.round(emittingRate)}/s | with no subscription: ${Math.round(silentRate)}/s | ${(emittingRate / silentRate).toFixed(2)}× |\n` +
        `| fact committed → at the receiver, at idle (poll 250 ms) | p50 ${percentile(latencies, 0.5).toFixed(0)} ms, p99 ${percentile(latencies, 0.99).toFixed(0)} ms | | |\n`,
    );
  } finally {
    transport.close();
    receiver.close();
    await db.close();
    await database.drop();
  }
}

runMain(main);
