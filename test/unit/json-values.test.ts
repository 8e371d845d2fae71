import { describe, expect, it } from 'vitest';
import { mayHoldUnfaithfulValue, unfaithfulValue } from '../../src/api/json-body.ts';

/** What the JSON body parser refuses (json-body.ts): each case as text, and the path named. */
const refused: [name: string, text: string, path: (string | number)[]][] = [
  ['a lone high surrogate in a value', '{"a":["x","\\ud800"]}', ['a', 1]],
  ['a lone low surrogate in a value', '{"a":"\\udc00x"}', ['a']],
  ['a pair in the wrong order', '{"a":"\\ude00\\ud83d"}', ['a']],
  ['a lone surrogate in a key', '{"a":{"k\\ud83d":1}}', ['a', 'k\ud83d']],
  ['NUL in a value', '{"a":"x\\u0000"}', ['a']],
  ['NUL in a key', '{"\\u0000":1}', ['\u0000']],
  ['a number beyond a double', '{"a":{"b":1e309}}', ['a', 'b']],
  ['a negative one', '[-1E+400]', [0]],
  ['211 integer digits and a 2-digit exponent', `{"a":1${'0'.repeat(210)}e99}`, ['a']],
  ['__proto__', '{"a":{"__proto__":{"x":1}}}', ['a', '__proto__']],
  ['__proto__ spelled with escapes', '{"\\u005f_proto__":{"x":1}}', ['__proto__']],
  ['constructor.prototype', '{"constructor":{"prototype":{"x":1}}}', ['constructor', 'prototype']],
];

describe('unfaithful JSON values', () => {
  it.each(refused)('%s: found at its path, and the text scan sees it', (_name, text, path) => {
    expect(mayHoldUnfaithfulValue(text)).toBe(true);
    expect(unfaithfulValue(JSON.parse(text))?.path).toEqual(path);
  });

  it('keeps what is stored as sent: surrogate pairs, large finite numbers, constructor without prototype', () => {
    for (const text of [
      '{"a":"\\ud83d\\ude00 😀"}',
      '{"a":1.7976931348623157e308,"b":-5e-324}',
      '{"constructor":"x","c":{"constructor":{"name":1}}}',
      `{"a":1${'0'.repeat(250)}}`,
    ]) {
      expect(unfaithfulValue(JSON.parse(text)), text).toBeUndefined();
    }
  });

  it('a body without escapes, prototype keys or huge numbers is not walked', () => {
    expect(mayHoldUnfaithfulValue(JSON.stringify({ events: [{ id: 'e1', occurredAt: '2026-11-24T00:00:00Z', properties: { n: 12345678901234, x: 1.5e30 } }] }))).toBe(false);
  });
});
