import ms from 'ms';
import type pg from 'pg';
import { percent, type AlertCondition } from './alert-condition.ts';
import type { AlertsDocument } from '../rules/alerts-schema.ts';

type Settings = AlertsDocument['endpointErrorSpike'];

interface Counts {
  requests: number;
  errors: number;
}

/** One endpoint's first-session requests and errors (4xx, 5xx): in the window, and in the baseline period before it. */
export interface EndpointErrorCounts {
  endpoint: string;
  window: Counts;
  baseline: Counts;
}

const rate = ({ requests, errors }: Counts) => (requests === 0 ? 0 : errors / requests);

/**
 * First-session errors spiking on one endpoint: at least `minErrors` in the window, at an error
 * rate above `ratioAbove` times the endpoint's rate over the baseline period (an endpoint with no
 * baseline errors spikes on `minErrors` alone). One alert per endpoint while it lasts (no period).
 */
export function endpointErrorSpike(counts: readonly EndpointErrorCounts[], settings: Settings): AlertCondition[] {
  return counts
    .filter((c) => c.window.errors >= settings.minErrors && rate(c.window) > settings.ratioAbove * rate(c.baseline))
    .map((c) => ({
      kind: 'endpointErrorSpike' as const,
      subject: c.endpoint,
      period: '',
      summary: `First-session errors on ${c.endpoint}: ${c.window.errors} of ${c.window.requests} requests (${percent(rate(c.window))}) in the last ${settings.window}, against ${percent(rate(c.baseline))} over the ${settings.versus} before`,
      detail: {
        endpoint: c.endpoint,
        window: { duration: settings.window, ...c.window, rate: rate(c.window) },
        baseline: { duration: settings.versus, ...c.baseline, rate: rate(c.baseline) },
      },
      view: { query: {}, panel: 'errorsPanel' },
    }));
}

/**
 * Per endpoint, the first-session requests (within 24 h of the developer's first request, as
 * first-session-errors.ts counts them) in the window and in the baseline before it. Only developers
 * whose first request is recent enough to have a session in that span are read (their first
 * request from developer_endpoints, their requests through the events' per-developer index).
 */
export async function measureEndpointErrors(pool: pg.Pool, settings: Settings, now: Date): Promise<EndpointErrorCounts[]> {
  const windowStart = new Date(now.getTime() - ms(settings.window as ms.StringValue));
  const since = new Date(windowStart.getTime() - ms(settings.versus as ms.StringValue));
  const { rows } = await pool.query<{ endpoint: string; recent: boolean; requests: string; errors: string }>(
    `WITH firsts AS (
       SELECT developer_id, min(first_at) AS first_at FROM developer_endpoints
        GROUP BY developer_id HAVING min(first_at) > $1::timestamptz - interval '24 hours' AND min(first_at) <= $3
     )
     SELECT e.endpoint, e.occurred_at > $2 AS recent, count(*) AS requests, count(*) FILTER (WHERE e.status >= 400) AS errors
       FROM firsts f
       JOIN events e ON e.developer_id = f.developer_id AND e.type = 'api.request'
        AND e.occurred_at > $1 AND e.occurred_at <= $3 AND e.occurred_at <= f.first_at + interval '24 hours'
      WHERE e.endpoint IS NOT NULL
      GROUP BY e.endpoint, recent`,
    [since, windowStart, now],
  );
  const byEndpoint = new Map<string, EndpointErrorCounts>();
  for (const r of rows) {
    const counts = byEndpoint.get(r.endpoint) ?? { endpoint: r.endpoint, window: { requests: 0, errors: 0 }, baseline: { requests: 0, errors: 0 } };
    counts[r.recent ? 'window' : 'baseline'] = { requests: Number(r.requests), errors: Number(r.errors) };
    byEndpoint.set(r.endpoint, counts);
  }
  return [...byEndpoint.values()];
}
