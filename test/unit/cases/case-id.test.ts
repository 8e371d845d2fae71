import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { journeyCaseId, pathSafeCaseId } from '../../../src/cases/case-id.ts';

describe('case ids: the journey form and the path-safe form the API shows', () => {
  it('keeps a plain developer id readable', () => {
    expect(pathSafeCaseId('dev_42/h1')).toBe('dev_42.h1');
    expect(pathSafeCaseId('acme:7/h12')).toBe('acme~3A7.h12');
    expect(pathSafeCaseId('a/b/h3')).toBe('a~2Fb.h3');
  });

  it('is path-safe and one-to-one for any developer id (all of Unicode, slashes, dots, tildes, a trailing ".h1")', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 10_000 }), (developerId, n) => {
        const caseId = `${developerId}/h${n}`;
        const shown = pathSafeCaseId(caseId);
        expect(shown).toMatch(/^[A-Za-z0-9._~-]+$/);
        expect(encodeURIComponent(shown)).toBe(shown);
        expect(journeyCaseId(shown)).toBe(caseId);
        expect(journeyCaseId(caseId)).toBe(caseId); // the older form, as Slack's links carry it
      }),
      { numRuns: 500 },
    );
  });

  it('names no case for another spelling or a malformed id', () => {
    for (const wrong of ['dev_42', 'dev_42.h0', 'dev_42.h', '~64ev_42.h1', 'dev~ff.h1', 'dev~FF.h1', 'dev~4.h1', 'dev_42/h', 'dev_42/x1', '/h1', '.h1']) {
      expect(journeyCaseId(wrong), wrong).toBeUndefined();
    }
  });
});
