import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ingestEvent } from '../../../src/events/event-schemas.ts';
import { compileFunnel, evaluateFunnel } from '../../../src/funnel/evaluate-funnel.ts';
import { funnelFormat, shippedFunnel } from '../../../src/funnel/funnel-file.ts';
import type { FunnelDocument } from '../../../src/funnel/funnel-schema.ts';
import { generateFunnelCohort } from '../../../src/simulator/funnel-cohort.ts';
import { generateCohort } from '../../../src/simulator/synthetic-cohort.ts';
import type { SimulatedDeveloper } from '../../../src/simulator/simulation-types.ts';
import { randomFunnel } from '../../support/random-funnels.ts';

/**
 * The simulator of a funnel of your own: the synthetic events must reach, by the funnel's own
 * evaluation (evaluate-funnel.ts), exactly the stages the ground truth says they were made to
 * reach, at the instants it says; the cohort must go through the stages with a drop-off; and what
 * it cannot simulate it must say.
 */

const DAY = 86_400_000;
const start = new Date('2026-09-07T00:00:00Z');
const options = (seed: number, developers: number) => ({ seed, developers, days: 14, start, until: new Date(start.getTime() + 90 * DAY) });

function parse(source: string): FunnelDocument {
  const parsed = funnelFormat.parse(source);
  if (!parsed.ok) throw new Error(parsed.errors.map(funnelFormat.formatError).join('\n'));
  return parsed.document;
}

/** Each developer's stages by the funnel's evaluation of its events, as the truth writes them. */
function evaluated(funnel: FunnelDocument, developer: SimulatedDeveloper): Record<string, string> {
  return Object.fromEntries([...evaluateFunnel(compileFunnel(funnel), developer.events)].map(([stage, proof]) => [stage, proof.occurredAt]));
}

const reachedPerStage = (funnel: FunnelDocument, developers: SimulatedDeveloper[]) => funnel.stages.map((s) => developers.filter((d) => d.truth.stages[s.id]).length);

/** A payments product's funnel: custom events with conditions, endpoint globs, methods, modes, thresholds in windows. */
const PAYMENTS = parse(`stages:
  - id: signed_up
    label: Signed up
    evidence: [{ event: developer.signed_up }]
  - id: sandbox_charge
    label: First sandbox charge
    evidence: [{ request: { status: 2xx, method: POST, endpoint: /v1/charges, mode: test } }]
  - id: webhooks_listening
    evidence:
      - { event: webhook.registered, where: { mode: test } }
      - { event: webhook.endpoint_verified, where: { events: [charge.succeeded, charge.failed] } }
  - id: integrated
    label: Integrated
    evidence: [{ request: { status: 2xx, endpoint: [/v1/charges/*, /v1/customers/**], exclude: [/v1/customers/health], distinctEndpoints: 3, within: 24h } }]
  - id: live_payments
    label: Live payments
    role: production
    evidence: [{ request: { status: [200, 201], mode: live, count: 5, within: 1h } }, { event: payment.succeeded, where: { livemode: true, currency: [eur, usd] } }]
`);

describe('a synthetic cohort for a funnel of your own', () => {
  it('reaches exactly the stages its truth says, at those instants, for random funnels (the funnel evaluation is the judge)', () => {
    fc.assert(
      fc.property(randomFunnel, fc.integer({ min: 1, max: 2 ** 30 }), (funnel, seed) => {
        const { developers } = generateFunnelCohort(funnel, options(seed, 25));
        for (const developer of developers) expect(evaluated(funnel, developer), developer.profile.id).toEqual(developer.truth.stages);
      }),
      { numRuns: 150 },
    );
  });

  it("goes through a payments funnel's stages with the personas' drop-off, every stage reached, in valid ingest events", () => {
    const { developers, notes } = generateFunnelCohort(PAYMENTS, options(3, 400));
    expect(notes).toEqual([]);
    for (const developer of developers) {
      expect(evaluated(PAYMENTS, developer), developer.profile.id).toEqual(developer.truth.stages);
      for (const event of developer.events) expect(ingestEvent.safeParse(event).success, JSON.stringify(event)).toBe(true);
      // In funnel order: each stage reached after the one before it.
      const times = PAYMENTS.stages.flatMap((s) => developer.truth.stages[s.id] ?? []);
      expect(times, developer.profile.id).toEqual([...times].sort());
    }
    const reached = reachedPerStage(PAYMENTS, developers);
    expect(reached[0]).toBe(400);
    for (let i = 1; i < reached.length; i++) {
      expect(reached[i], PAYMENTS.stages[i]!.id).toBeGreaterThan(0);
      expect(reached[i], PAYMENTS.stages[i]!.id).toBeLessThan(reached[i - 1]!);
    }
    // Both evidences of the live stage were simulated, and the threshold's requests lie within its hour.
    const proofs = developers.flatMap((d) => {
      const proof = evaluateFunnel(compileFunnel(PAYMENTS), d.events).get('live_payments');
      return proof ? [d.events.find((e) => e.id === proof.eventId)!] : [];
    });
    expect(new Set(proofs.map((e) => e.type))).toEqual(new Set(['api.request', 'payment.succeeded']));
  });

  it('says what it cannot simulate, and simulates the rest of the funnel', () => {
    const funnel = parse(`stages:
  - id: signed_up
    evidence: [{ event: developer.signed_up }]
  - id: sandbox_webhook
    evidence: [{ event: webhook.registered, where: { mode: sandbox } }]
  - id: explored
    evidence: [{ request: { status: 2xx, endpoint: /v1/charges, distinctEndpoints: 3 } }]
  - id: enterprise
    evidence: [{ event: developer.signed_up, where: { plan: enterprise } }]
  - id: flood
    evidence: [{ request: { count: 100000 } }]
  - id: paying
    evidence: [{ event: payment.succeeded }]
`);
    const { developers, notes } = generateFunnelCohort(funnel, options(5, 200));
    expect(notes).toEqual([
      expect.stringMatching(
        /^cannot simulate stages\[1\] \(sandbox_webhook\) evidence\[0\]: webhook\.registered where mode: no value of "sandbox" passes the webhook\.registered schema/,
      ),
      'stage sandbox_webhook (Sandbox webhook) is not simulated: no developer reaches it',
      'cannot simulate stages[2] (explored) evidence[0]: needs 3 distinct endpoints matching "/v1/charges"; the simulator can make 1',
      'stage explored (Explored) is not simulated: no developer reaches it',
      `cannot simulate stages[3] (enterprise) evidence[0]: developer.signed_up where plan: no simulated developer's signup has "enterprise"`,
      'stage enterprise (Enterprise) is not simulated: no developer reaches it',
      'cannot simulate stages[4] (flood) evidence[0]: needs 100000 requests, more than the simulator sends for one stage (200)',
      'stage flood (Flood) is not simulated: no developer reaches it',
    ]);
    expect(reachedPerStage(funnel, developers)).toEqual([200, 0, 0, 0, 0, expect.any(Number)]);
    expect(reachedPerStage(funnel, developers)[5]).toBeGreaterThan(0);
  });

  it('names the stages whose evidence, drawn for another, proves them too', () => {
    // Any request that proves `charged` (a POST) proves `called` too, before it: no developer can reach them in order.
    const funnel = parse(`stages:
  - id: signed_up
    evidence: [{ event: developer.signed_up }]
  - id: charged
    evidence: [{ request: { status: 2xx, method: POST, count: 2 } }]
  - id: called
    evidence: [{ request: { status: 2xx } }]
`);
    const { developers, notes } = generateFunnelCohort(funnel, options(2, 100));
    expect(reachedPerStage(funnel, developers)).toEqual([100, 0, 0]);
    expect(notes).toEqual([expect.stringMatching(/^stage charged \(Charged\): \d+ developers stopped before it: the events drawn for its evidence also proved called /)]);
  });

  it("uses the personas' own journeys for the shipped funnel, whatever its labels", () => {
    const relabelled = { stages: shippedFunnel().document.stages.map((s) => ({ ...s, label: `Step ${s.id}` })) };
    const expected = generateCohort(options(9, 60));
    expect(generateFunnelCohort(shippedFunnel().document, options(9, 60))).toEqual({ developers: expected, notes: [] });
    expect(generateFunnelCohort(relabelled, options(9, 60))).toEqual({ developers: expected, notes: [] });
  });

  it('draws the same people as the personas, reproducibly', () => {
    const a = generateFunnelCohort(PAYMENTS, options(7, 50));
    expect(generateFunnelCohort(PAYMENTS, options(7, 50))).toEqual(a);
    expect(a.developers.map((d) => d.profile)).toEqual(generateCohort(options(7, 50)).map((d) => d.profile));
  });
});
