import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIPPED_STAGES } from '../../src/journey/stages.ts';
import { developerHistory, historyEvents } from '../support/developer-histories.ts';
import { OnrampHarness } from '../support/onramp-harness.ts';
import { shippedFunnelStages } from '../support/shipped-funnel.ts';
import { databaseBackends } from '../support/test-databases.ts';
import { mulberry32 } from '../support/seeded-random.ts';

let run = 0;

describe.each(databaseBackends())('ingest + journey are order-independent (%s)', (backend) => {
  let h: OnrampHarness;
  beforeAll(async () => {
    h = await new OnrampHarness(backend).start();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('the same events in random batches, orders and duplicates give the stages the oracle computes', async () => {
    await fc.assert(
      // Sequential batches, or all of them at once: concurrent transactions race on the key's
      // mapping and on the active-integration proof, and must still agree with the oracle.
      fc.asyncProperty(developerHistory, fc.integer({ min: 1, max: 2 ** 30 }), fc.boolean(), async (generated, seed, concurrent) => {
        const developerId = `${backend}_p${run++}`;
        const events = historyEvents(developerId, generated);
        // Shuffle (seeded), duplicate a few, cut into batches of 1–4.
        const rand = mulberry32(seed);
        const sent = [...events, ...events.filter(() => rand() < 0.2)].sort(() => rand() - 0.5);
        const batches: (typeof sent)[] = [];
        for (let i = 0; i < sent.length;) {
          const size = 1 + Math.floor(rand() * 4);
          batches.push(sent.slice(i, i + size));
          i += size;
        }
        const post = async (batch: typeof sent) => {
          const response = await h.post({ events: batch });
          expect(response.statusCode, response.body).toBe(202);
        };
        if (concurrent) await Promise.all(batches.map(post));
        else for (const batch of batches) await post(batch);
        // The funnel document's own evaluation (test/unit/funnel/shipped-funnel.test.ts holds it to today's stage definitions).
        const expected = shippedFunnelStages(events);
        const reached = (journey: any) =>
          Object.fromEntries(journey.stages.filter((s: any) => s.status === 'reached').map((s: any) => [s.stage, { at: s.at, causeEventId: s.causeEventId }]));
        // An empty outbox does not mean the journey has applied the last signal: wait for the
        // expected stages, and if they never come, show the difference.
        const journey = await h
          .waitForJourney(developerId, (j) => JSON.stringify(reached(j)) === JSON.stringify(sortKeys(expected)), 15_000)
          .catch(async () => (await h.journey(developerId)).body);
        expect(reached(journey)).toEqual(expected);
        // The aggregates count every request once, whichever came before its key.
        const { rows } = await h.db.pool.query(
          `SELECT endpoint, requests, ok_requests, status_401, status_429, status_4xx, live_requests, first_at, first_ok_at, last_at
           FROM developer_endpoints WHERE developer_id = $1 ORDER BY endpoint`,
          [developerId],
        );
        expect(rows.map((r) => ({ ...r, first_at: r.first_at.toISOString(), first_ok_at: r.first_ok_at?.toISOString() ?? null, last_at: r.last_at.toISOString() }))).toEqual(
          expectedTotals(events),
        );
      }),
      // A failing case is reported as found: shrinking it through real servers would take minutes.
      { numRuns: 16, endOnFailure: true },
    );
  }, 300_000);
});

/** developer_endpoints' rows for one developer's events, computed from the events themselves. */
function expectedTotals(events: ReturnType<typeof historyEvents>) {
  const byEndpoint = new Map<string, { at: string; status: number; mode: string }[]>();
  for (const e of events) {
    if (e.type !== 'api.request') continue;
    const p = e.properties as { endpoint: string; status: number; mode: string };
    byEndpoint.set(p.endpoint, [...(byEndpoint.get(p.endpoint) ?? []), { at: e.occurredAt, status: p.status, mode: p.mode }]);
  }
  return [...byEndpoint.keys()].sort().map((endpoint) => {
    const calls = byEndpoint.get(endpoint)!;
    const times = calls.map((c) => c.at).sort();
    const okTimes = calls
      .filter((c) => c.status < 300)
      .map((c) => c.at)
      .sort();
    const count = (accept: (c: (typeof calls)[number]) => boolean) => calls.filter(accept).length;
    return {
      endpoint,
      requests: calls.length,
      ok_requests: okTimes.length,
      status_401: count((c) => c.status === 401),
      status_429: count((c) => c.status === 429),
      status_4xx: count((c) => c.status >= 400 && c.status < 500),
      live_requests: count((c) => c.mode === 'live'),
      first_at: times[0],
      first_ok_at: okTimes[0] ?? null,
      last_at: times.at(-1),
    };
  });
}

/** The journey lists stages in funnel order; compare the oracle's in the same order. */
function sortKeys(stages: Record<string, unknown>) {
  return Object.fromEntries(SHIPPED_STAGES.filter((stage) => stage in stages).map((stage) => [stage, stages[stage]]));
}
