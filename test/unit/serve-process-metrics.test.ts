import { describe, expect, it } from 'vitest';
import { activityFailures } from '../../src/metrics/process-metrics.ts';
import { serveProcessMetrics } from '../../src/metrics/serve-process-metrics.ts';
import { freePort } from '../../src/temporal/free-port.ts';

describe("a worker's own Prometheus endpoint", () => {
  it("serves this process's counters at /metrics and nothing else", async () => {
    activityFailures.inc({ activity: 'notifySlack' }, 2);
    const server = await serveProcessMetrics('127.0.0.1', await freePort(), () => 'RUNNING');
    try {
      const response = await fetch(server.url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(await response.text()).toMatch(/^onramp_activity_failures_total\{activity="notifySlack"\} 2$/m);
      expect((await fetch(server.url.replace('/metrics', '/'))).status).toBe(404);
    } finally {
      await server.stop();
    }
  });

  it("answers /healthz from the Temporal worker's state: 200 while RUNNING, 503 with the state otherwise", async () => {
    let state = 'RUNNING';
    const server = await serveProcessMetrics('127.0.0.1', await freePort(), () => state);
    const healthz = server.url.replace('/metrics', '/healthz');
    try {
      const ok = await fetch(healthz);
      expect([ok.status, await ok.json()]).toEqual([200, { status: 'ok', worker: 'RUNNING' }]);
      state = 'FAILED';
      const failed = await fetch(healthz);
      expect([failed.status, await failed.json()]).toEqual([503, { status: 'unavailable', worker: 'FAILED' }]);
    } finally {
      await server.stop();
    }
  });
});
