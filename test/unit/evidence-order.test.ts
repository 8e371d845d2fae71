import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isEarlier } from '../../src/journey/evidence-order.ts';

const instant = fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true });
const eventId = fc.constantFrom('a', 'b', 'e_1', 'e_10');

describe('isEarlier', () => {
  it('orders canonical instants as the times they name, ties by event id', () => {
    fc.assert(
      fc.property(instant, eventId, fc.oneof(instant, fc.constant(null)), eventId, (a, idA, maybeB, idB) => {
        const b = maybeB ?? a; // equal times often, so the tie-break is exercised
        const expected = a.getTime() < b.getTime() || (a.getTime() === b.getTime() && idA < idB);
        expect(isEarlier({ occurredAt: a.toISOString(), eventId: idA }, { occurredAt: b.toISOString(), eventId: idB })).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });

  it('compares other ISO forms by their instant, not their text', () => {
    // "+02:00" names an earlier instant than the canonical "10:30Z" although it sorts later as text.
    expect(isEarlier({ occurredAt: '2026-11-01T12:00:00+02:00', eventId: 'b' }, { occurredAt: '2026-11-01T10:30:00.000Z', eventId: 'a' })).toBe(true);
    expect(isEarlier({ occurredAt: '2026-11-01T10:30:00.000Z', eventId: 'a' }, { occurredAt: '2026-11-01T12:00:00+02:00', eventId: 'b' })).toBe(false);
  });
});
