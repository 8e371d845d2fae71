import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds } from '../../src/api/json-body.ts';

/** The depth of a parsed value: what the scan must agree with. */
function depth(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depth));
  if (value !== null && typeof value === 'object') return 1 + Math.max(0, ...Object.values(value).map(depth));
  return 0;
}

// Strings full of the characters the scan must not count: quotes, backslashes, brackets.
const tricky = fc.string({ unit: fc.constantFrom('"', '\\', '{', '}', '[', ']', 'a', '\n', 'é') });

describe('jsonDepthExceeds', () => {
  it('agrees with the parsed depth, whatever the strings hold', () => {
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, tricky, fc.integer(), fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(tricky, tie('node'), { maxKeys: 3 })),
    })).node;
    fc.assert(
      fc.property(value, fc.integer({ min: 0, max: 8 }), (v, limit) => {
        const text = JSON.stringify(v);
        expect(jsonDepthExceeds(text, limit)).toBe(depth(v) > limit);
      }),
      { numRuns: 2000 },
    );
  });

  it('counts past a string that ends in escaped backslashes', () => {
    expect(jsonDepthExceeds(JSON.stringify({ a: 'x\\\\', b: [[['{']]] }), 3)).toBe(true);
    expect(jsonDepthExceeds(JSON.stringify({ a: 'x\\"[[[[', b: [] }), 2)).toBe(false);
  });
});
