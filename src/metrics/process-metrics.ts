import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * What one process counts as it goes (Prometheus, prom-client): events it ingested or refused and
 * how late they arrived, the outbox signals its dispatcher delivered, the activities that failed in its worker, and node's own process metrics. The database-derived series
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

export const outboxSignalsDelivered = new Counter({
  name: 'onramp_outbox_signals_delivered_total',
  help: "Outbox signals this process's dispatcher delivered to their journeys (each API process runs one)",
  registers: [processRegistry],
});

export const activityFailures = new Counter({
  name: 'onramp_activity_failures_total',
  help: 'Activity attempts that failed in this worker (each retry counts), by activity type',
  labelNames: ['activity'] as const,
  registers: [processRegistry],
});

/**
 * The lateness buckets (seconds: 10 s, 1 min, 5 min, 15 min, 1 h, 6 h, 1 d, 7 d, beyond), shared by
 * the Prometheus histogram and the per-source windows of GET /v1/sources (source_lateness).
 */
export const LATENESS_BUCKETS_SECONDS = [10, 60, 300, 900, 3600, 21_600, 86_400, 604_800] as const;

export const sourceEventLateness = new Histogram({
  name: 'onramp_source_event_lateness_seconds',
  help: "How late stored events arrived, per ingest source: received time minus the event's occurredAt (import is late by design)",
  labelNames: ['source'] as const,
  buckets: [...LATENESS_BUCKETS_SECONDS],
  registers: [processRegistry],
});
