import { LATENESS_BUCKETS_SECONDS } from '../metrics/process-metrics.ts';

/** Counts per lateness bucket: one per bound of LATENESS_BUCKETS_SECONDS, then one beyond the last. */
export type LatenessBuckets = number[];

/** How late a source's events arrived over a recent window (GET /v1/sources). */
export interface LatenessSummary {
  events: number;
  /** The upper bound of the bucket holding the median (or the latest, when lower); null without events. */
  p50Seconds: number | null;
  p95Seconds: number | null;
  maxSeconds: number | null;
}

export const emptyBuckets = (): LatenessBuckets => new Array<number>(LATENESS_BUCKETS_SECONDS.length + 1).fill(0);

/** The bucket of a lateness in seconds (an event from the future, a sender's clock ahead, is on time). */
export function bucketOf(seconds: number): number {
  const index = LATENESS_BUCKETS_SECONDS.findIndex((bound) => seconds <= bound);
  return index === -1 ? LATENESS_BUCKETS_SECONDS.length : index;
}

/**
 * p50 and p95 from the bucket counts: a bucket's upper bound, as Prometheus' histogram_quantile
 * would bound it, never above the latest event seen (which also stands for the open last bucket).
 */
export function summarize(buckets: LatenessBuckets, maxSeconds: number | null): LatenessSummary {
  const events = buckets.reduce((a, b) => a + b, 0);
  const quantile = (q: number) => {
    if (events === 0 || maxSeconds === null) return null;
    const rank = Math.ceil(q * events);
    let seen = 0;
    const index = buckets.findIndex((count) => (seen += count) >= rank);
    return Math.min(LATENESS_BUCKETS_SECONDS[index] ?? Infinity, maxSeconds);
  };
  return { events, p50Seconds: quantile(0.5), p95Seconds: quantile(0.95), maxSeconds: events === 0 ? null : maxSeconds };
}
