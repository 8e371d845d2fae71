import { createServer } from 'node:http';
import { processRegistry } from './process-metrics.ts';

/**
 * A worker process's own Prometheus endpoint (`/metrics`): its activity failures and process
 * metrics, which the API's `/metrics` cannot see when the worker runs apart; and its health
 * (`/healthz`: 200 while the Temporal worker is RUNNING, 503 otherwise, with its state), for a
 * container's health check. No key: bind it to a private interface or port that only the scraper reaches.
 */
export async function serveProcessMetrics(host: string, port: number, workerState: () => string): Promise<{ url: string; stop(): Promise<void> }> {
  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/healthz') {
      const state = workerState();
      const running = state === 'RUNNING';
      response.writeHead(running ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: running ? 'ok' : 'unavailable', worker: state }));
      return;
    }
    if (request.method !== 'GET' || request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    processRegistry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': processRegistry.contentType }).end(text),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    url: `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}/metrics`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
