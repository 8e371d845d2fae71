import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, INGEST_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { databaseBackends } from '../support/test-databases.ts';

/** `name{labels} value` lines of the Prometheus text format → a map. */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) found.set(match[1]!, Number(match[2]));
  }
  return found;
}

describe('GET /metrics (Prometheus)', () => {
  let h: OnrampHarness;
  beforeAll(async () => {
    h = await new OnrampHarness(databaseBackends()[0]!).start();
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  const scrape = async () => {
    const response = await h.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return samples(response.body);
  };

  it('counts ingested, duplicate and refused events, transitions by stage, escalations and the outbox', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${INGEST_KEY}` } })).statusCode).toBe(401);
    const before = await scrape();
    const at = (key: string, from = before) => from.get(key) ?? 0;
    const now = new Date().toISOString();
    const events = [
      {
        id: 'prom-s',
        type: 'developer.signed_up',
        developerId: 'prom_dev',
        occurredAt: now,
        properties: { email: 'p@example.com', accountType: 'individual', acquisitionChannel: 'paid' },
      },
      { id: 'prom-k', type: 'api_key.created', developerId: 'prom_dev', occurredAt: now, properties: { apiKey: 'key_prom', mode: 'test' } },
      { id: 'prom-t', type: 'support.ticket_created', developerId: 'prom_dev', occurredAt: now },
    ];
    expect((await h.post({ events })).statusCode).toBe(202);
    expect((await h.post({ events: events.slice(0, 2) })).statusCode).toBe(202); // duplicates
    expect((await h.post({ events: [{ ...events[0], occurredAt: 'yesterday' }] })).statusCode).toBe(400);

    await h.waitForJourney('prom_dev', (j) => j.handoffs?.length === 1);
    const after = await scrape();
    expect(at('onramp_ingest_events_total{result="accepted"}', after) - at('onramp_ingest_events_total{result="accepted"}')).toBe(3);
    expect(at('onramp_ingest_events_total{result="duplicate"}', after) - at('onramp_ingest_events_total{result="duplicate"}')).toBe(2);
    expect(at('onramp_ingest_rejected_requests_total{status="400"}', after) - at('onramp_ingest_rejected_requests_total{status="400"}')).toBe(1);
    expect(at('onramp_journey_transitions_total{to_stage="credential_provisioned"}', after)).toBe(1);
    expect(at('onramp_escalations_total{level="1"}', after)).toBe(1);
    expect(at('onramp_handoffs{status="open"}', after)).toBe(1);
    expect(at('onramp_outbox_signals_delivered_total', after) - at('onramp_outbox_signals_delivered_total')).toBeGreaterThan(0);
    expect(after.has('onramp_outbox_pending_signals')).toBe(true);
    expect(after.has('onramp_outbox_lag_seconds')).toBe(true);
    expect(after.has('onramp_process_cpu_user_seconds_total')).toBe(true);
  });
});
