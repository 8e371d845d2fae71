import fc from 'fast-check';
import type { FunnelEvent } from '../../src/funnel/evaluate-funnel.ts';

/**
 * Random developer histories for property tests of stage evidence: an API key, requests around it
 * (some before the key, ties at the same minute, test and live, 2xx and errors, GET and POST,
 * five endpoints, one nested and one a health check),
 * and a few of the other events that prove stages, built-in and custom (`payment.succeeded`).
 */

const base = Date.UTC(2026, 10, 1);

/** A developer's events: a key, requests around it (some before the key is known), a few others. */
export const developerHistory = fc.record({
  keyAt: fc.integer({ min: 0, max: 48 }),
  requests: fc.array(
    fc.record({
      hour: fc.integer({ min: 0, max: 96 }),
      minute: fc.constantFrom(0, 0, 30),
      endpoint: fc.constantFrom('/v1/a', '/v1/b', '/v1/c', '/v1/c/items', '/health'),
      method: fc.constantFrom('GET', 'GET', 'POST'),
      status: fc.constantFrom(200, 200, 201, 401, 429),
      mode: fc.constantFrom('test', 'test', 'test', 'live'),
    }),
    { minLength: 1, maxLength: 14 },
  ),
  extras: fc.subarray(['docs.viewed', 'developer.signed_up', 'quickstart.completed', 'webhook.test', 'webhook.live', 'payment.test', 'payment.live'] as const),
  extraHours: fc.array(fc.integer({ min: 0, max: 96 }), { minLength: 7, maxLength: 7 }),
});

export type DeveloperHistory = typeof developerHistory extends fc.Arbitrary<infer T> ? T : never;

/** The history's events for `developerId` (requests carry its key, not its id: attribution goes through the key). */
export function historyEvents(developerId: string, h: DeveloperHistory): (FunnelEvent & { developerId?: string })[] {
  const at = (hour: number, minute = 0) => new Date(base + hour * 3600_000 + minute * 60_000).toISOString();
  const key = `key_${developerId}`;
  const events: (FunnelEvent & { developerId?: string })[] = [
    { id: `${developerId}-key`, type: 'api_key.created', developerId, occurredAt: at(h.keyAt), properties: { apiKey: key, mode: 'test' } },
  ];
  h.requests.forEach((r, i) =>
    events.push({
      id: `${developerId}-r${i}`,
      type: 'api.request',
      occurredAt: at(r.hour, r.minute),
      properties: { apiKey: key, endpoint: r.endpoint, method: r.method, status: r.status, mode: r.mode },
    }),
  );
  h.extras.forEach((kind, i) => {
    const occurredAt = at(h.extraHours[i]!);
    const id = `${developerId}-x${i}`;
    if (kind === 'developer.signed_up')
      events.push({ id, type: kind, developerId, occurredAt, properties: { email: 'x@example.com', accountType: 'individual', acquisitionChannel: 'paid' } });
    // A custom event, attributed by the key as the gateway's requests are (it may come before the key).
    else if (kind === 'payment.test' || kind === 'payment.live')
      events.push({ id, type: 'payment.succeeded', occurredAt, properties: { apiKey: key, livemode: kind === 'payment.live', amount: 1200 } });
    else if (kind === 'webhook.test' || kind === 'webhook.live')
      events.push({ id, type: 'webhook.registered', developerId, occurredAt, properties: { url: 'https://example.com/h', mode: kind === 'webhook.live' ? 'live' : 'test' } });
    else events.push({ id, type: kind, developerId, occurredAt });
  });
  return events;
}
