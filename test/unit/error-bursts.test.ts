import { describe, expect, it } from 'vitest';
import { burstThresholdsFrom } from '../../src/ingest/burst-thresholds.ts';
import { DEFAULT_BURST_THRESHOLDS, ErrorBurstDetector, newBurstLessons } from '../../src/ingest/error-bursts.ts';
import type { AttributedRequest } from '../../src/ingest/request-aggregates.ts';
import type { RuleStore } from '../../src/rules/rule-store.ts';

// The candidate filter is the hot path: what it lets through costs a lock and a read.
const t0 = Date.UTC(2026, 10, 1);
const hour = 3_600_000;
let n = 0;
const request = (developerId: string, status: number, at: number): AttributedRequest => ({
  id: `r${n++}`,
  developerId,
  endpoint: '/v1/charges',
  status,
  mode: 'test',
  method: 'GET',
  sdk: false,
  occurredAt: new Date(at).toISOString(),
});
const k = (developerId: string, kind: string) => `${developerId}\u0000${kind}`;

function detectorKnowing(lessons: Partial<ReturnType<typeof newBurstLessons>>): ErrorBurstDetector {
  const detector = new ErrorBurstDetector();
  detector.learn({ ...newBurstLessons(), ...lessons });
  return detector;
}

describe('ErrorBurstDetector.candidates', () => {
  it('lets 2xx traffic and errors of unknown developers through as it did: only errors, and first-session candidates', () => {
    const detector = new ErrorBurstDetector();
    expect(detector.candidates([request('a', 200, t0), request('b', 500, t0)], DEFAULT_BURST_THRESHOLDS)).toEqual({ first: [], continued: [] });
    expect(detector.candidates([request('a', 401, t0)], DEFAULT_BURST_THRESHOLDS)).toEqual({ first: ['a'], continued: [] });
  });

  it('checks the continuation of a recorded burst only for errors of its kind after it and within continuedWithin (72h)', () => {
    const burstAt = t0 + hour;
    const detector = detectorKnowing({ firstAt: new Map([['a', t0]]), recorded: new Map([[k('a', 'unauthorized_burst'), burstAt]]) });
    const of = (status: number, at: number) => detector.candidates([request('a', status, at)], DEFAULT_BURST_THRESHOLDS);
    expect(of(401, burstAt)).toEqual({ first: [], continued: [] }); // not after it
    expect(of(401, burstAt - 1)).toEqual({ first: [], continued: [] });
    expect(of(401, burstAt + 1)).toEqual({ first: [], continued: ['a'] });
    expect(of(401, burstAt + 71 * hour)).toEqual({ first: [], continued: ['a'] });
    expect(of(401, burstAt + 72 * hour)).toEqual({ first: [], continued: [] }); // beyond the window
    // Another kind, in the first session: a first-burst candidate as before.
    expect(of(429, t0 + 2 * hour)).toEqual({ first: ['a'], continued: [] });
  });

  it('checks nothing more once the continuation is recorded', () => {
    const detector = detectorKnowing({ recorded: new Map([[k('a', 'unauthorized_burst'), t0]]), continued: [k('a', 'unauthorized_burst')] });
    expect(detector.candidates([request('a', 401, t0 + hour)], DEFAULT_BURST_THRESHOLDS)).toEqual({ first: [], continued: [] });
  });

  it('reads nothing for the errors of a developer read without a burst after the first session, nor past every possible window', () => {
    const firstAt = t0;
    // Past the first session, nothing known of bursts: the errors may continue one another process recorded.
    const unknown = detectorKnowing({ firstAt: new Map([['a', firstAt]]) });
    expect(unknown.candidates([request('a', 401, firstAt + 48 * hour)], DEFAULT_BURST_THRESHOLDS)).toEqual({ first: [], continued: ['a'] });
    // Past the first session plus continuedWithin, no burst can be continued.
    expect(unknown.candidates([request('a', 401, firstAt + 96 * hour)], DEFAULT_BURST_THRESHOLDS)).toEqual({ first: [], continued: [] });
    // Read under the lock with no burst stored: steady errors read nothing more.
    const absent = detectorKnowing({ firstAt: new Map([['a', firstAt]]), absent: [k('a', 'unauthorized_burst')] });
    expect(absent.candidates([request('a', 401, firstAt + 48 * hour)], DEFAULT_BURST_THRESHOLDS)).toEqual({ first: [], continued: [] });
    // … until an error that could make a first burst: that batch checks both itself, and forgets the absence.
    expect(absent.candidates([request('a', 401, firstAt + hour)], DEFAULT_BURST_THRESHOLDS)).toEqual({ first: ['a'], continued: [] });
    expect(absent.candidates([request('a', 401, firstAt + 48 * hour)], DEFAULT_BURST_THRESHOLDS)).toEqual({ first: [], continued: ['a'] });
  });

  it('a recorded burst outweighs an absence learnt by an older read', () => {
    const detector = detectorKnowing({ firstAt: new Map([['a', t0]]), recorded: new Map([[k('a', 'unauthorized_burst'), t0 + hour]]) });
    detector.learn({ ...newBurstLessons(), absent: [k('a', 'unauthorized_burst')] });
    expect(detector.candidates([request('a', 401, t0 + 48 * hour)], DEFAULT_BURST_THRESHOLDS)).toEqual({ first: [], continued: ['a'] });
  });
});

describe('burstThresholdsFrom', () => {
  it('gives a rules version stored before continuedWithin existed its default', async () => {
    const stored = { unauthorized: { minCount: 7 }, badRequest: { minCount: 5, minShareOnOneEndpoint: 0.6 }, rateLimited: { minCount: 3 }, firstSession: '12h' };
    const store = { active: async () => ({ version: 1, document: { policy: { errorBursts: stored } } }) } as unknown as RuleStore;
    expect(await burstThresholdsFrom(store)()).toEqual({ ...stored, continuedWithin: '72h' });
    const empty = { active: async () => undefined } as unknown as RuleStore;
    expect(await burstThresholdsFrom(empty)()).toEqual(DEFAULT_BURST_THRESHOLDS);
  });
});
