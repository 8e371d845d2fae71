import { describe, expect, it } from 'vitest';
import { compileFunnel, evaluateFunnel, type FunnelEvent } from '../../../src/funnel/evaluate-funnel.ts';
import { funnelFormat } from '../../../src/funnel/funnel-file.ts';

/** The stages `stagesYaml` (a `stages:` list's items) says `events` reach: stage → cause event id. */
function reached(stagesYaml: string, events: FunnelEvent[]): Record<string, string> {
  const result = funnelFormat.parse(`stages:\n  - id: signed_up\n    evidence: [{ event: developer.signed_up }]\n${stagesYaml}`);
  if (!result.ok) throw new Error(result.errors.map(funnelFormat.formatError).join('\n'));
  return Object.fromEntries([...evaluateFunnel(compileFunnel(result.document), events)].map(([stage, proof]) => [stage, proof.eventId]));
}

const at = (minutes: number) => new Date(Date.UTC(2026, 11, 1) + minutes * 60_000).toISOString();
const request = (id: string, minutes: number, properties: Record<string, unknown>): FunnelEvent => ({
  id,
  type: 'api.request',
  occurredAt: at(minutes),
  properties: { endpoint: '/v1/charges', method: 'GET', status: 200, mode: 'test', ...properties },
});

describe('evaluating a funnel', () => {
  it('an event stage: the earliest event of the type whose properties hold every condition (a value, or one of a list)', () => {
    const stage = `  - id: paid\n    evidence: [{ event: payment.succeeded, where: { livemode: false, currency: [usd, eur] } }]\n`;
    const payment = (id: string, minutes: number, properties: Record<string, unknown>) => ({ id, type: 'payment.succeeded', occurredAt: at(minutes), properties });
    expect(
      reached(stage, [
        payment('p1', 1, { livemode: true, currency: 'usd' }),
        payment('p2', 2, { livemode: false, currency: 'gbp' }),
        payment('p3', 3, { currency: 'usd' }), // no livemode: not false
        payment('p5', 5, { livemode: false, currency: 'eur' }),
        payment('p4', 5, { livemode: false, currency: 'usd' }), // the same instant: the smaller id
      ]),
    ).toEqual({ paid: 'p4' });
  });

  it('a request stage: status classes and codes, endpoint globs (* within a segment, ** across), methods, mode, exclusions', () => {
    const stage = (request: string) => `  - id: called\n    evidence: [{ request: ${request} }]\n`;
    const events = [
      request('r1', 1, { endpoint: '/v1/health', status: 200 }),
      request('r2', 2, { endpoint: '/v1/charges/ch_1/refunds', status: 201, method: 'POST' }),
      request('r3', 3, { endpoint: '/v1/charges/ch_1', status: 404, mode: 'live' }),
      request('r4', 4, { endpoint: '/v1/charges/ch_2', status: 200, mode: 'live' }),
    ];
    expect(reached(stage('{ status: 2xx }'), events)).toEqual({ called: 'r1' });
    expect(reached(stage('{ status: 2xx, exclude: [/v1/health] }'), events)).toEqual({ called: 'r2' });
    expect(reached(stage('{ endpoint: "/v1/charges/*" }'), events)).toEqual({ called: 'r3' });
    expect(reached(stage('{ endpoint: "/v1/charges/**" }'), events)).toEqual({ called: 'r2' });
    expect(reached(stage('{ status: [404, 5xx] }'), events)).toEqual({ called: 'r3' });
    expect(reached(stage('{ method: [PUT, POST] }'), events)).toEqual({ called: 'r2' });
    expect(reached(stage('{ status: 2xx, mode: live }'), events)).toEqual({ called: 'r4' });
    expect(reached(stage('{ status: 3xx }'), events)).toEqual({});
  });

  it('a threshold: the request that completes it within a sliding window, counted from any earlier matching request', () => {
    const stage = (request: string) => `  - id: active\n    evidence: [{ request: ${request} }]\n`;
    const day = 24 * 60;
    const events = [
      request('a', 0, { endpoint: '/v1/a' }),
      request('b', day + 1, { endpoint: '/v1/b' }), // 24 h and a minute after a: not with it
      request('c', day + 2, { endpoint: '/v1/b', status: 500 }), // not matching (2xx)
      request('d', 2 * day, { endpoint: '/v1/a' }), // within 24 h of b: a different endpoint
    ];
    expect(reached(stage('{ status: 2xx, distinctEndpoints: 2, within: 24h }'), events)).toEqual({ active: 'd' });
    expect(reached(stage('{ status: 2xx, distinctEndpoints: 2 }'), events)).toEqual({ active: 'b' });
    expect(reached(stage('{ status: 2xx, count: 2, within: 24h }'), events)).toEqual({ active: 'd' });
    expect(reached(stage('{ count: 3, within: 1d }'), events)).toEqual({ active: 'd' });
    expect(reached(stage('{ status: 2xx, count: 3, distinctEndpoints: 2 }'), events)).toEqual({ active: 'd' });
  });

  it('a threshold reached by two requests at the same instant: the smaller id proves it', () => {
    const stage = `  - id: active\n    evidence: [{ request: { distinctEndpoints: 2, within: 1h } }]\n`;
    expect(reached(stage, [request('y', 5, { endpoint: '/v1/b' }), request('x', 5, { endpoint: '/v1/a' })])).toEqual({ active: 'x' });
  });

  it('a stage with several kinds of evidence: the earliest of them', () => {
    const stage = `  - id: live\n    evidence:\n      - request: { status: 2xx, mode: live }\n      - event: webhook.registered\n        where: { mode: live }\n`;
    const webhook = { id: 'w', type: 'webhook.registered', occurredAt: at(3), properties: { mode: 'live' } };
    expect(reached(stage, [request('r', 5, { mode: 'live' }), webhook])).toEqual({ live: 'w' });
    expect(reached(stage, [request('r', 2, { mode: 'live' }), webhook])).toEqual({ live: 'r' });
  });
});
