import { describe, expect, it } from 'vitest';
import { funnelFormat } from '../../../src/funnel/funnel-file.ts';

const errorsOf = (source: string) => {
  const result = funnelFormat.parse(source);
  if (result.ok) throw new Error('expected errors');
  return result.errors;
};

const twoStages = (second: string) => `stages:
  - id: account_created
    evidence:
      - event: developer.signed_up
${second}`;

describe('a funnel file', () => {
  it('takes custom event types with property conditions and request conditions with thresholds', () => {
    const result = funnelFormat.parse(
      twoStages(`  - id: sandbox_payment
    label: Sandbox payment
    evidence:
      - event: payment.succeeded
        where: { livemode: false, currency: [usd, eur] }
      - request: { status: [2xx, 304], endpoint: /v1/charges/**, method: [POST, PUT], mode: test, exclude: [/v1/health], count: 3, within: 24h }
`),
    );
    expect(result.ok && result.document.stages[1]).toEqual({
      id: 'sandbox_payment',
      label: 'Sandbox payment',
      evidence: [
        { event: 'payment.succeeded', where: { livemode: false, currency: ['usd', 'eur'] } },
        { request: { status: ['2xx', 304], endpoint: '/v1/charges/**', method: ['POST', 'PUT'], mode: 'test', exclude: ['/v1/health'], count: 3, within: '24h' } },
      ],
    });
  });

  it('names the stage, the field, the line and the column of each error', () => {
    const errors = errorsOf(
      twoStages(`  - id: first_call
    role: first_call
    evidence:
      - event: Payment-Succeeded
      - request: { within: 24h }
  - id: first_call
    role: first_call
    evidence:
      - event: api.request
`),
    );
    expect(errors.map(funnelFormat.formatError)).toEqual([
      'stages[1] (first_call) evidence[0].event: must be an event type like "payment.succeeded": lower-case words joined by dots (line 8, column 16)',
      'stages[1] (first_call) evidence[1].request.within: `within` needs a threshold: `count` or `distinctEndpoints` (line 9, column 28)',
      'stages[2] (first_call) id: duplicate stage id "first_call" (line 10, column 9)',
      "stages[2] (first_call) role: role first_call is already stage first_call's: one stage per role (line 11, column 11)",
      'stages[2] (first_call) evidence[0].event: "api.request" is evidence through a `request:` condition (status, endpoint, mode, …), not an `event:` (line 13, column 16)',
    ]);
  });

  it('has 2 to 20 stages', () => {
    const stage = (i: number) => `  - id: s${i}\n    evidence: [{ event: thing.happened }]\n`;
    expect(errorsOf(`stages:\n${stage(1)}`).map((e) => e.message)).toEqual(['a funnel has 2 to 20 stages']);
    expect(funnelFormat.parse(`stages:\n${Array.from({ length: 20 }, (_, i) => stage(i)).join('')}`).ok).toBe(true);
    expect(errorsOf(`stages:\n${Array.from({ length: 21 }, (_, i) => stage(i)).join('')}`).map((e) => e.message)).toEqual(['a funnel has 2 to 20 stages']);
  });

  it('refuses unknown fields, a stage without evidence and ids that are not snake_case', () => {
    const errors = errorsOf(
      twoStages(`  - id: First-Call
    evidence: []
    colour: blue
`),
    );
    expect(errors.map((e) => [e.path, e.message])).toEqual([
      ['stages[1].id', 'must be a stage id in snake_case: lower-case letters, digits and underscores, starting with a letter'],
      ['stages[1].evidence', expect.stringMatching(/at least 1/)],
      ['stages[1].colour', expect.stringMatching(/unknown field/)],
    ]);
  });

  it('is empty: one error saying what it needs', () => {
    expect(errorsOf('# nothing\n')).toEqual([{ path: '', message: 'the file is empty: it needs a `stages:` list' }]);
  });
});
