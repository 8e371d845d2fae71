import type pg from 'pg';
import { Counter, Gauge, Registry } from 'prom-client';
import { stageIds, type ReadFunnelInForce } from '../funnel/funnel-in-force.ts';

/** What the data-quality gauges read (src/sources: the sources' state, the unattributed backlog). */
export interface DataQualityReaders {
  sources(): Promise<{ source: string; lastReceivedAt: string | null; silent: boolean }[]>;
  unattributed(): Promise<{ waiting: number; oldestAgeSeconds: number | null }>;
}

/**
 * Series read from PostgreSQL at scrape time, so every API process reports the same totals whatever
 * process did the work: transitions by stage, nudge decisions by outcome, escalations by level,
 * open cases by status, the outbox's backlog, and the sources' data quality. The rows behind the counters are never deleted,
 * so they only grow, as Prometheus counters must. Transitions are labelled by the stage ids rows
 * hold; every stage of the funnel in force has a series, 0 before anyone enters it.
 */
export function databaseRegistry(pool: pg.Pool, funnel: ReadFunnelInForce, dataQuality: DataQualityReaders): Registry {
  const registry = new Registry();
  const rows = async <R extends pg.QueryResultRow>(text: string) => (await pool.query<R>(text)).rows;

  new Counter({
    name: 'onramp_journey_transitions_total',
    help: 'Journey transitions recorded under the funnel version in force, by the stage entered',
    labelNames: ['to_stage'] as const,
    registers: [registry],
    async collect() {
      const { version, document } = await funnel();
      const { rows: found } = await pool.query<{ to_stage: string; n: number }>(
        'SELECT to_stage, count(*)::int AS n FROM journey_transitions WHERE funnel_version = $1 GROUP BY to_stage',
        [version],
      );
      this.reset();
      for (const id of stageIds(document)) this.inc({ to_stage: id }, 0);
      for (const r of found) this.inc({ to_stage: r.to_stage }, r.n);
    },
  });
  new Counter({
    name: 'onramp_nudge_decisions_total',
    help: 'Nudge decisions recorded, by outcome (sent, scheduled, cancelled, skipped, escalated)',
    labelNames: ['outcome'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await rows<{ outcome: string; n: number }>('SELECT outcome, count(*)::int AS n FROM nudge_decisions GROUP BY outcome')) this.inc({ outcome: r.outcome }, r.n);
    },
  });
  new Counter({
    name: 'onramp_escalations_total',
    help: 'Handoff cases posted at a level: level 1 when escalated, higher when an SLA moved them up',
    labelNames: ['level'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const found = await rows<{ level: string; n: number }>(
        `SELECT CASE WHEN step = 'escalated' THEN '1' ELSE detail->>'level' END AS level, count(*)::int AS n
         FROM handoff_steps WHERE step IN ('escalated', 're_escalated') GROUP BY 1`,
      );
      for (const r of found) this.inc({ level: r.level }, r.n);
    },
  });
  new Gauge({
    name: 'onramp_handoffs',
    help: 'Handoff cases by status now (open, claimed, snoozed, returned, resolved)',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await rows<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM handoffs GROUP BY status')) this.set({ status: r.status }, r.n);
    },
  });
  new Gauge({
    name: 'onramp_outbox_pending_signals',
    help: 'Signals accepted and not yet delivered to their journeys',
    registers: [registry],
    async collect() {
      this.set((await rows<{ n: number }>('SELECT count(*)::int AS n FROM outbox_signals'))[0]?.n ?? 0);
    },
  });
  new Gauge({
    name: 'onramp_outbox_lag_seconds',
    help: 'Age of the oldest signal not yet delivered (0 when the outbox is empty)',
    registers: [registry],
    async collect() {
      const [r] = await rows<{ lag: number | null }>('SELECT extract(epoch FROM now() - min(created_at))::float8 AS lag FROM outbox_signals');
      this.set(Math.max(0, r?.lag ?? 0));
    },
  });
  new Gauge({
    name: 'onramp_webhook_messages',
    help: 'Outgoing webhook messages waiting for delivery (pending) or given up after the retry window (failed)',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const counts = await rows<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM webhook_deliveries WHERE status IN ('pending', 'failed') GROUP BY status`);
      for (const status of ['pending', 'failed']) this.set({ status }, counts.find((c) => c.status === status)?.n ?? 0);
    },
  });
  new Gauge({
    name: 'onramp_webhook_lag_seconds',
    help: 'Age of the oldest webhook message not yet delivered (0 when none waits)',
    registers: [registry],
    async collect() {
      const [r] = await rows<{ lag: number | null }>(`SELECT extract(epoch FROM now() - min(queued_at))::float8 AS lag FROM webhook_deliveries WHERE status = 'pending'`);
      this.set(Math.max(0, r?.lag ?? 0));
    },
  });
  new Gauge({
    name: 'onramp_source_silent',
    help: '1 when an ingest source that received requests has received none for longer than ONRAMP_SOURCE_SILENT_AFTER, else 0',
    labelNames: ['source'] as const,
    registers: [registry],
    async collect() {
      for (const s of await dataQuality.sources()) this.set({ source: s.source }, s.silent ? 1 : 0);
    },
  });
  new Gauge({
    name: 'onramp_source_last_received_timestamp_seconds',
    help: 'When an ingest source last received a request, accepted or refused (Unix seconds; no series before its first)',
    labelNames: ['source'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of await dataQuality.sources()) if (s.lastReceivedAt !== null) this.set({ source: s.source }, Date.parse(s.lastReceivedAt) / 1000);
    },
  });
  new Gauge({
    name: 'onramp_unattributed_backlog',
    help: 'API requests and custom events waiting for their key to be mapped to a developer (api_key.created)',
    registers: [registry],
    async collect() {
      this.set((await dataQuality.unattributed()).waiting);
    },
  });
  new Gauge({
    name: 'onramp_unattributed_oldest_age_seconds',
    help: 'Age of the oldest request or custom event waiting for its key (0 when none waits)',
    registers: [registry],
    async collect() {
      this.set((await dataQuality.unattributed()).oldestAgeSeconds ?? 0);
    },
  });
  return registry;
}
