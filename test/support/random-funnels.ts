import fc from 'fast-check';
import type { FunnelDocument, StageEvidence } from '../../src/funnel/funnel-schema.ts';

/**
 * Random funnel documents over the vocabulary of developer-histories.ts: event evidence on built-in
 * types and a custom one (with property conditions), request conditions on status, endpoint globs, method,
 * mode and exclusions, with and without thresholds and windows.
 */

const eventEvidence: fc.Arbitrary<StageEvidence> = fc.oneof(
  fc.constantFrom('docs.viewed', 'developer.signed_up', 'api_key.created', 'quickstart.completed').map((event) => ({ event })),
  fc.constantFrom('test', 'live', ['test', 'live']).map((mode) => ({ event: 'webhook.registered', where: { mode } })),
  fc.constant({ event: 'developer.signed_up', where: { accountType: 'organization' } }),
  fc.constantFrom(undefined, false, true).map((livemode) => (livemode === undefined ? { event: 'payment.succeeded' } : { event: 'payment.succeeded', where: { livemode } })),
);

const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

const requestEvidence: fc.Arbitrary<StageEvidence> = fc
  .record({
    status: optional(fc.constantFrom<'2xx' | '4xx' | 201 | 401 | ('2xx' | 401)[]>('2xx', '2xx', '4xx', 201, 401, ['2xx', 401])),
    endpoint: optional(fc.constantFrom('/v1/a', '/v1/*', '/v1/**', ['/v1/a', '/v1/b'])),
    method: optional(fc.constantFrom('GET', 'POST', ['GET', 'POST'])),
    mode: optional(fc.constantFrom('test' as const, 'live' as const)),
    exclude: optional(fc.constant(['/health'])),
    threshold: fc.oneof(
      fc.constant(undefined),
      fc.record({ count: fc.integer({ min: 2, max: 4 }), within: optional(fc.constantFrom('1h', '6h', '24h')) }),
      fc.record({ distinctEndpoints: fc.integer({ min: 2, max: 3 }), within: optional(fc.constantFrom('1h', '6h', '24h')) }),
    ),
  })
  .map(({ threshold, ...conditions }) => ({
    request: Object.fromEntries(Object.entries({ ...conditions, ...threshold }).filter(([, value]) => value !== undefined)),
  })) as fc.Arbitrary<StageEvidence>;

export const randomFunnel: fc.Arbitrary<FunnelDocument> = fc
  .array(fc.array(fc.oneof(eventEvidence, requestEvidence, requestEvidence), { minLength: 1, maxLength: 2 }), { minLength: 2, maxLength: 5 })
  .map((stages) => ({ stages: stages.map((evidence, i) => ({ id: `stage_${i}`, evidence })) }));
