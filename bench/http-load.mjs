// The gateway's side of the ingest benchmark, on its own thread so that producing the load does
// not take CPU from the API's event loop (in production the gateway is another machine).
// Plain JavaScript: a worker thread does not inherit tsx's loader.
import { parentPort, workerData } from 'node:worker_threads';

const { url, key, bodies, concurrency } = workerData;
let next = 0;
parentPort.postMessage({ started: true }); // the bodies are copied in by now: the timed part begins
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
      const text = await response.text();
      if (response.status !== 202) throw new Error(`POST ${response.status}: ${text}`);
    }
  }),
);
parentPort.postMessage({ milliseconds: performance.now() - started });
