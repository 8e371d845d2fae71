/**
 * `npm run bench:segment`: the Segment-compatible route's events/s against `POST /v1/events` of
 * the same events, in one run, on PostgreSQL (BENCH_DATABASE_URL or TEST_DATABASE_URL; PGlite
 * otherwise). Each developer sends a signup, an API key, four pages and four custom tracks, in
 * batches of 100 through the HTTP app in-process (four requests in flight); the two routes take
 * turns for ROUNDS rounds (after an uncounted warm-up) on fresh developers each, so both meet the
 * same database state.
 */
import { performance } from 'node:perf_hooks';
import { Client } from '@temporalio/client';
import pino from 'pino';
import { buildApp } from '../src/api/build-app.ts';
import { shippedFunnelInForce } from '../test/support/shipped-funnel.ts';
import { benchDatabase, runMain } from './bench-support.ts';

const DEVELOPERS_PER_ROUND = Number(process.env.SEGMENT_BENCH_DEVELOPERS ?? 1_000);
const ROUNDS = 3;
const BATCH = 100;
const IN_FLIGHT = 4;
const KEY = 'bench-segment-key-0123456789';

/** One developer's ten events: as Segment messages, and as the Onramp events they become. */
function history(developerId: string, start: number) {
  const at = (i: number) => new Date(start + i * 60_000).toISOString();
  const segment = [
    {
      type: 'identify',
      messageId: `${developerId}-0`,
      userId: developerId,
      timestamp: at(0),
      traits: { email: `${developerId}@example.com`, accountType: 'individual', acquisitionChannel: 'paid' },
    },
    { type: 'track', messageId: `${developerId}-1`, userId: developerId, timestamp: at(1), event: 'API Key Created', properties: { api_key: `key_${developerId}`, mode: 'test' } },
    ...[2, 3, 4, 5].map((i) => ({ type: 'page', messageId: `${developerId}-${i}`, userId: developerId, timestamp: at(i), properties: { path: `/docs/page-${i}` } })),
    ...[6, 7, 8, 9].map((i) => ({ type: 'track', messageId: `${developerId}-${i}`, userId: developerId, timestamp: at(i), event: 'Team Member Invited', properties: { n: i } })),
  ];
  const onramp = [
    {
      id: `${developerId}-0`,
      type: 'developer.signed_up',
      developerId,
      occurredAt: at(0),
      properties: { email: `${developerId}@example.com`, accountType: 'individual', acquisitionChannel: 'paid' },
    },
    { id: `${developerId}-1`, type: 'api_key.created', developerId, occurredAt: at(1), properties: { apiKey: `key_${developerId}`, mode: 'test' } },
    ...[2, 3, 4, 5].map((i) => ({ id: `${developerId}-${i}`, type: 'docs.viewed', developerId, occurredAt: at(i), properties: { path: `/docs/page-${i}` } })),
    ...[6, 7, 8, 9].map((i) => ({ id: `${developerId}-${i}`, type: 'team.member_invited', developerId, occurredAt: at(i), properties: { n: i } })),
  ];
  return { segment, onramp };
}

function batches<T>(items: T[]): T[][] {
  return Array.from({ length: Math.ceil(items.length / BATCH) }, (_, i) => items.slice(i * BATCH, (i + 1) * BATCH));
}

async function main() {
  const { backend, database, db } = await benchDatabase();
  // Ingest never calls Temporal (the outbox does, and no dispatcher runs here); a lazy client never connects.
  const app = await buildApp({
    db,
    temporal: new Client(),
    logger: pino({ level: 'silent' }),
    ingestKeys: [KEY],
    adminKeys: [],
    signingSecret: 'bench-signing-secret-0123456789abcdef',
    funnel: shippedFunnelInForce,
  });
  const headers = {
    segment: { authorization: `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`, 'content-type': 'application/json' },
    events: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
  };
  const url = { segment: '/v1/sources/segment/batch', events: '/v1/events' };
  const seconds = { segment: 0, events: 0 };
  const counted = { segment: 0, events: 0 };

  async function send(route: 'segment' | 'events', bodies: string[], events: number, counts: boolean) {
    const begin = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < bodies.length) {
          const payload = bodies[next++]!;
          const response = await app.inject({ method: 'POST', url: url[route], headers: headers[route], payload });
          if (response.statusCode >= 300) throw new Error(`${route}: ${response.statusCode} ${response.body.slice(0, 300)}`);
        }
      }),
    );
    if (!counts) return;
    seconds[route] += (performance.now() - begin) / 1000;
    counted[route] += events;
  }

  try {
    const start = Date.UTC(2026, 10, 1);
    // Round -1 warms both routes up (JIT, caches, the pool) and is not counted.
    for (let round = -1; round < ROUNDS; round++) {
      for (const route of round % 2 === 0 ? (['segment', 'events'] as const) : (['events', 'segment'] as const)) {
        const developers = round < 0 ? DEVELOPERS_PER_ROUND / 10 : DEVELOPERS_PER_ROUND;
        const histories = Array.from({ length: developers }, (_, d) => history(`${route}-r${round}-d${d}`, start));
        const bodies =
          route === 'segment'
            ? batches(histories.flatMap((h) => h.segment)).map((batch) => JSON.stringify({ batch }))
            : batches(histories.flatMap((h) => h.onramp)).map((events) => JSON.stringify({ events }));
        await send(route, bodies, developers * 10, round >= 0);
      }
    }
    const rate = (route: 'segment' | 'events') => counted[route] / seconds[route];
    process.stdout.write(
      `\n| ingest (${backend}, batches of ${BATCH}, ${IN_FLIGHT} in flight, ${ROUNDS} alternating rounds) | events/s |\n|---|---|\n` +
        `| \`POST /v1/sources/segment/batch\` | ${Math.round(rate('segment'))} |\n` +
        `| \`POST /v1/events\` (the same events) | ${Math.round(rate('events'))} |\n` +
        `| ratio | ${(rate('segment') / rate('events')).toFixed(2)}× |\n`,
    );
  } finally {
    await app.close();
    await db.close();
    await database.drop();
  }
}

runMain(main);
