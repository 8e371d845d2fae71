/**
 * `npm run bench:middleware`: what @onramp/node costs the host. A child process serves the same
 * tiny handler four times — Express and plain node:http, each without and with the recorder — and
 * this process drives them through a keep-alive client, the variants taking turns (every CHUNK
 * requests) for ROUNDS rounds after an uncounted warm-up: sequential requests (latency: p50, p99,
 * the p99's overhead) and
 * CONCURRENCY at a time (throughput, and the host's CPU per request, read in the child around each
 * run). The recorder ships its batches (500 events, or every second) to a receiver in this process
 * that answers as `POST /v1/events` does, so shipping is part of what is measured; the host's work
 * does not depend on what stores the events.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { Agent, createServer, request, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import express from 'express';
import { OnrampRecorder, onrampExpress, withOnramp } from '../packages/onramp-node/src/index.ts';
import { percentile, runMain } from './bench-support.ts';

const SEQUENTIAL = Number(process.env.MIDDLEWARE_BENCH_REQUESTS ?? 5_000);
const CONCURRENT = SEQUENTIAL * 4;
const CONCURRENCY = 16;
const CHUNK = 100;
const ROUNDS = 3;
const VARIANTS = ['express', 'express+onramp', 'http', 'http+onramp'] as const;
type Variant = (typeof VARIANTS)[number];

/** The child: the four servers; answers `cpu` messages with its CPU time so far (µs) and `stats` with the recorders'. */
async function host(sinkUrl: string): Promise<void> {
  const recorders = ['express', 'http'].map(() => new OnrampRecorder({ url: sinkUrl, ingestKey: 'bench', flushIntervalMs: 1_000 }));
  const handler: RequestListener = (_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end('{"ok":true}');
  };
  const expressApp = (recorder?: OnrampRecorder) => {
    const app = express();
    if (recorder) app.use(onrampExpress(recorder));
    app.get('/v1/items/:id', (_req, res) => {
      res.json({ ok: true });
    });
    return app;
  };
  const listeners: Record<Variant, RequestListener> = {
    express: expressApp(),
    'express+onramp': expressApp(recorders[0]),
    http: handler,
    'http+onramp': withOnramp(recorders[1]!, handler, { route: () => '/v1/items/:id' }),
  };
  const ports: Record<string, number> = {};
  for (const variant of VARIANTS) {
    const server = createServer(listeners[variant]).listen(0, '127.0.0.1');
    await once(server, 'listening');
    ports[variant] = (server.address() as AddressInfo).port;
  }
  process.on('message', async (message: string) => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send!({ cpu: user + system });
    } else if (message === 'stats') {
      await Promise.all(recorders.map((r) => r.flush()));
      process.send!({ stats: recorders.map((r) => r.stats()) });
    }
  });
  process.send!({ ports });
}

async function main(): Promise<void> {
  let shipped = 0;
  let batches = 0;
  const sink = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { events } = JSON.parse(Buffer.concat(chunks).toString()) as { events: unknown[] };
      shipped += events.length;
      batches++;
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: events.length, duplicates: 0, unattributed: 0, deleted: 0 }));
    });
  }).listen(0, '127.0.0.1');
  await once(sink, 'listening');

  const child = fork(new URL(import.meta.url).pathname, ['host', `http://127.0.0.1:${(sink.address() as AddressInfo).port}`], { stdio: 'inherit' });
  const [{ ports }] = (await once(child, 'message')) as [{ ports: Record<Variant, number> }];
  const ask = async <T>(what: string): Promise<T> => {
    child.send(what);
    const [answer] = (await once(child, 'message')) as [T];
    return answer;
  };

  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const get = (port: number, i: number) =>
    new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: `/v1/items/${i}`, agent, headers: { authorization: 'Bearer sk_live_bench', 'user-agent': 'bench/1' } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });

  /** Sequential requests: each one's latency (ms). */
  const sequential = async (port: number, n: number) => {
    const took: number[] = [];
    for (let i = 0; i < n; i++) {
      const start = performance.now();
      await get(port, i);
      took.push(performance.now() - start);
    }
    return took;
  };
  /** CONCURRENCY requests at a time: requests/s and the host's CPU µs per request. */
  const concurrent = async (port: number, n: number) => {
    const cpuBefore = (await ask<{ cpu: number }>('cpu')).cpu;
    const start = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) await get(port, next++);
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    const cpu = (await ask<{ cpu: number }>('cpu')).cpu - cpuBefore;
    return { rps: n / seconds, cpuPerRequest: cpu / n };
  };

  for (const variant of VARIANTS) {
    await sequential(ports[variant], 1_000);
    await concurrent(ports[variant], 2_000);
  }
  const latencies = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
  const throughput = Object.fromEntries(VARIANTS.map((v) => [v, [] as { rps: number; cpuPerRequest: number }[]])) as Record<Variant, { rps: number; cpuPerRequest: number }[]>;
  for (let round = 0; round < ROUNDS; round++) {
    // Sequential requests in chunks, the variants taking turns chunk by chunk: a burst of load from
    // elsewhere on the machine lands on all of them alike rather than on one variant's tail.
    for (let chunk = 0; chunk < SEQUENTIAL / CHUNK; chunk++) {
      for (const variant of VARIANTS) latencies[variant].push(...(await sequential(ports[variant], CHUNK)));
    }
    for (const variant of VARIANTS) throughput[variant].push(await concurrent(ports[variant], CONCURRENT));
  }
  const { stats } = await ask<{ stats: { accepted: number; dropped: number; failed: number }[] }>('stats');

  const us = (ms: number) => Math.round(ms * 1000);
  const median = (values: number[]) => percentile(values, 0.5);
  console.log(`@onramp/node overhead: ${ROUNDS} rounds of ${SEQUENTIAL} sequential and ${CONCURRENT} concurrent (${CONCURRENCY} in flight) requests per variant`);
  console.log('| variant | p50 µs | p99 µs | requests/s (median round) | host CPU µs/request |');
  console.log('|---|---|---|---|---|');
  for (const variant of VARIANTS) {
    const l = latencies[variant];
    const t = throughput[variant];
    console.log(
      `| ${variant} | ${us(percentile(l, 0.5))} | ${us(percentile(l, 0.99))} | ${Math.round(median(t.map((x) => x.rps)))} | ${Math.round(median(t.map((x) => x.cpuPerRequest)))} |`,
    );
  }
  for (const [plain, recorded] of [
    ['express', 'express+onramp'],
    ['http', 'http+onramp'],
  ] as const) {
    const p99 = us(percentile(latencies[recorded], 0.99) - percentile(latencies[plain], 0.99));
    const p50 = us(percentile(latencies[recorded], 0.5) - percentile(latencies[plain], 0.5));
    const ratio = median(throughput[recorded].map((x) => x.rps)) / median(throughput[plain].map((x) => x.rps));
    const cpu = median(throughput[recorded].map((x) => x.cpuPerRequest)) - median(throughput[plain].map((x) => x.cpuPerRequest));
    console.log(
      `${recorded}: p50 overhead ${p50} µs, p99 overhead ${p99} µs per request; throughput ${ratio.toFixed(3)}× of ${plain}; host CPU +${Math.round(cpu)} µs per request`,
    );
  }
  console.log(`shipped ${shipped} events in ${batches} batches; recorders: ${JSON.stringify(stats.map(({ accepted, dropped, failed }) => ({ accepted, dropped, failed })))}`);
  child.kill();
  sink.close();
  agent.destroy();
}

if (process.argv[2] === 'host') void host(process.argv[3]!);
else runMain(main);
