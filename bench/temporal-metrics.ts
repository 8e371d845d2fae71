/**
 * The Temporal server's Prometheus counters around a bench phase: what the server did for it
 * (requests by operation, persistence calls, workflow tasks matched from a poller waiting or from
 * the backlog, history events per workflow).
 */
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

const temporalProto = proto.temporal;

/** Counter (and histogram _sum/_count) values by name, and by name{operation} where the metric has one. */
export type TemporalMetrics = Map<string, number>;

/** What a phase's deltas keep: the metrics that say where a workflow's start went. */
const KEPT = [
  /^service_requests/,
  /^service_errors/,
  /^persistence_requests/,
  /^persistence_latency_(sum|count)/,
  /^visibility_persistence_requests/,
  /^visibility_persistence_latency_(sum|count)/,
  /^history_count_(sum|count)$/,
  /^history_size_(sum|count)$/,
  /^poll_success/,
  /^poll_timeouts/,
  /^task_latency_queue_(sum|count)/,
  /^task_latency_(sum|count)/,
  /^task_schedule_to_start_latency_(sum|count)/,
  /^sticky_cache/,
  /^workflow_task/,
  /^lease_requests/,
  /^buffered_events_count_(sum|count)$/,
  /^state_transition_count_(sum|count)$/,
  /^cache_(requests|miss)/,
];

export async function scrapeTemporalMetrics(url: string): Promise<TemporalMetrics> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return parsePrometheusText(await response.text());
}

/** Sums each sample by metric name (labels dropped but `operation`, kept as name{operation}); buckets and gauges alike. */
export function parsePrometheusText(text: string): TemporalMetrics {
  const metrics: TemporalMetrics = new Map();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1]!.endsWith('_bucket')) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    const operation = /operation="([^"]*)"/.exec(match[2] ?? '')?.[1];
    const add = (key: string) => metrics.set(key, (metrics.get(key) ?? 0) + value);
    add(match[1]!);
    if (operation) add(`${match[1]}{${operation}}`);
  }
  return metrics;
}

/** after − before of the kept metrics that moved, largest first. */
export function temporalMetricsDelta(before: TemporalMetrics, after: TemporalMetrics): Record<string, number> {
  const delta: [string, number][] = [];
  for (const [key, value] of after) {
    if (!KEPT.some((pattern) => pattern.test(key))) continue;
    const moved = value - (before.get(key) ?? 0);
    if (moved !== 0) delta.push([key, +moved.toFixed(3)]);
  }
  return Object.fromEntries(delta.sort((a, b) => b[1] - a[1]));
}

export interface HistoryShape {
  sampled: number;
  /** Means per workflow run. */
  events: number;
  bytes: number;
  workflowTasks: number;
  /** Events by type, summed over the sample, most first. */
  eventTypes: Record<string, number>;
}

/** What the histories of `workflowIds` hold: events, encoded bytes and workflow tasks, on average. */
export async function historyShape(temporal: Client, workflowIds: string[]): Promise<HistoryShape> {
  const types = new Map<string, number>();
  let events = 0;
  let bytes = 0;
  let tasks = 0;
  for (const id of workflowIds) {
    const history = await temporal.workflow.getHandle(id).fetchHistory();
    bytes += temporalProto.api.history.v1.History.encode(history).finish().length;
    for (const event of history.events ?? []) {
      const type = temporalProto.api.enums.v1.EventType[event.eventType ?? 0] ?? String(event.eventType);
      types.set(type, (types.get(type) ?? 0) + 1);
      events++;
      if (event.eventType === temporalProto.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) tasks++;
    }
  }
  const n = workflowIds.length || 1;
  return {
    sampled: workflowIds.length,
    events: +(events / n).toFixed(1),
    bytes: Math.round(bytes / n),
    workflowTasks: +(tasks / n).toFixed(2),
    eventTypes: Object.fromEntries([...types].sort((a, b) => b[1] - a[1]).map(([t, c]) => [t.replace('EVENT_TYPE_', ''), c])),
  };
}
