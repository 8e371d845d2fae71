import { collectDefaultMetrics, Counter, Registry } from 'prom-client';

/**
 * What one process counts as it goes (Prometheus, prom-client): events it ingested or refused, the
 * activities that failed in its worker, and node's own process metrics. The database-derived series
 * are in database-metrics.ts.
 */
export const processRegistry = new Registry();
collectDefaultMetrics({ register: processRegistry, prefix: 'onramp_' });

export const ingestEvents = new Counter({
  name: 'onramp_ingest_events_total',
  help: 'Events taken by POST /v1/events: accepted (new) or duplicate (an id already stored)',
  labelNames: ['result'] as const,
  registers: [processRegistry],
});

export const ingestRejected = new Counter({
  name: 'onramp_ingest_rejected_requests_total',
  help: 'POST /v1/events requests refused, by HTTP status (400 invalid, 401 key, 413 too large, 415 type, 503 storage down)',
  labelNames: ['status'] as const,
  registers: [processRegistry],
});

export const activityFailures = new Counter({
  name: 'onramp_activity_failures_total',
  help: 'Activity attempts that failed in this worker (each retry counts), by activity type',
  labelNames: ['activity'] as const,
  registers: [processRegistry],
});
