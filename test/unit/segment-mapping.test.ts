import { describe, expect, it } from 'vitest';
import { readSegmentMapping, segmentMappingFormat } from '../../src/sources/segment/segment-mapping.ts';
import { toOnrampEvents, typeFromEventName } from '../../src/sources/segment/to-onramp-events.ts';

describe('the Segment mapping', () => {
  it('reads the shipped file, and names each error of a bad one with its field and line', () => {
    expect(readSegmentMapping().track['API Key Created']).toEqual({ type: 'api_key.created', properties: { apiKey: 'api_key', mode: 'mode' } });
    const parsed = segmentMappingFormat.parse('track:\n  Order Completed:\n    type: Payment Succeeded\nunmapped: drop\nidentify:\n  otherwise: developer.signed_up\n');
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.errors.map((e) => [e.path, e.line])).toEqual([
      ['track["Order Completed"].type', 3],
      ['unmapped', 4],
      ['identify.otherwise', 6],
    ]);
  });

  it('names unmapped track events "Object Action" → noun.past_verb, and none for a name that makes no type', () => {
    expect(typeFromEventName('Order Completed')).toBe('order.completed');
    expect(typeFromEventName('Team Member Invited')).toBe('team.member_invited');
    expect(typeFromEventName('order_completed')).toBe('order.completed');
    expect(typeFromEventName('Signup')).toBeUndefined();
    expect(typeFromEventName('2FA Enabled')).toBeUndefined();
  });

  it('refuses an unmapped track under `unmapped: refuse`, naming the message’s event', () => {
    const mapping = { ...readSegmentMapping(), unmapped: 'refuse' as const };
    const { events, errors } = toOnrampEvents([{ type: 'track', messageId: 'm1', userId: 'd1', event: 'Order Completed', properties: {} }], {
      mapping,
      signedUp: new Set(),
      receivedAt: '2026-12-01T00:00:00.000Z',
      prefix: (i) => ['batch', i],
    });
    expect(events).toEqual([]);
    expect(errors).toEqual([{ path: 'batch[0].event', message: expect.stringContaining('is not in the mapping') }]);
  });
});
