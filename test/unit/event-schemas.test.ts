import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BUILT_IN_EVENT_TYPES, ingestEvent } from '../../src/events/event-schemas.ts';

const at = '2026-11-01T10:00:00Z';
const problems = (event: unknown) => ingestEvent.safeParse(event).error?.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })) ?? [];

/** The schema the HTTP API, `onramp import` and the rule preview's history feed validate with. */
describe('ingestEvent: built-in types and custom events', () => {
  it('takes any well-formed type as a custom event, properties as sent', () => {
    const parsed = ingestEvent.parse({
      id: 'p1',
      type: 'payment.succeeded',
      developerId: 'd',
      occurredAt: '2026-11-01T12:00:00+02:00',
      properties: { amount: 1, nested: { a: [1] } },
    });
    expect(parsed).toEqual({ id: 'p1', type: 'payment.succeeded', developerId: 'd', occurredAt: '2026-11-01T10:00:00.000Z', properties: { amount: 1, nested: { a: [1] } } });
    expect(ingestEvent.parse({ id: 'p2', type: 'team.member_invited', occurredAt: at, properties: { apiKey: ' sk_1 ' } }).properties).toEqual({ apiKey: 'sk_1' });
  });

  it("reports the problems of the schema the type names, never the other branch's", () => {
    const signup = { id: 's1', type: 'developer.signed_up', developerId: 'd', occurredAt: at };
    expect(problems({ ...signup, properties: { email: 'nope', accountType: 'individual', acquisitionChannel: 'paid' } })).toEqual([
      { path: 'properties.email', message: 'Invalid email address' },
    ]);
    expect(problems({ ...signup, properties: { email: 3, accountType: 'individual', acquisitionChannel: 'paid' } }).map((p) => p.path)).toEqual(['properties.email']);
    expect(problems({ id: 'c1', type: 'payment.succeeded', occurredAt: at, properties: {} })).toEqual([
      { path: 'developerId', message: 'a custom event needs developerId or properties.apiKey' },
    ]);
    expect(problems({ id: 'c1', type: 'Payment', developerId: 'd', occurredAt: at }).map((p) => p.path)).toEqual(['type']);
  });

  it('publishes the custom shape in JSON Schema, excluding the built-in types from it', () => {
    const schema = z.toJSONSchema(ingestEvent, { io: 'input', target: 'draft-2020-12' }) as { anyOf: { oneOf?: unknown[]; properties?: { type: Record<string, unknown> } }[] };
    const custom = schema.anyOf.find((branch) => branch.properties?.type.pattern !== undefined);
    expect(custom?.properties?.type).toMatchObject({ maxLength: 64, not: { enum: [...BUILT_IN_EVENT_TYPES] } });
  });
});
