import { describe, expect, it } from 'vitest';
import { funnelFormat } from '../../src/funnel/funnel-file.ts';
import type { FunnelDocument } from '../../src/funnel/funnel-schema.ts';
import { defaultTransitions, funnelTransitionsProblem, transitionsParam } from '../../src/metrics/stage-conversion.ts';
import { shippedFunnel } from '../support/shipped-funnel.ts';

/** A funnel of these stage ids, each proved by an event of its own. */
function funnelOf(...ids: string[]): FunnelDocument {
  const parsed = funnelFormat.parse(`stages:\n${ids.map((id) => `  - id: ${id}\n    evidence: [{ event: stage.${id} }]\n`).join('')}`);
  if (!parsed.ok) throw new Error(parsed.errors.map(funnelFormat.formatError).join('\n'));
  return parsed.document;
}

describe('the transitions of the conversion report in the funnel in force', () => {
  it('defaults to the benchmarked windows when the funnel holds their stages in order, else to consecutive pairs within 30 days', () => {
    const benchmarked = [
      { from: 'account_created', to: 'first_api_call', windowDays: 7 },
      { from: 'first_api_call', to: 'active_integration', windowDays: 14 },
      { from: 'active_integration', to: 'production_deployment', windowDays: 30 },
    ];
    expect(defaultTransitions(shippedFunnel)).toEqual(benchmarked);
    // A stage added between benchmarked ones keeps the benchmarks.
    expect(defaultTransitions(funnelOf('account_created', 'first_api_call', 'sandbox_used', 'active_integration', 'production_deployment'))).toEqual(benchmarked);
    expect(defaultTransitions(funnelOf('signed_up', 'hello_world', 'paying'))).toEqual([
      { from: 'signed_up', to: 'hello_world', windowDays: 30 },
      { from: 'hello_world', to: 'paying', windowDays: 30 },
    ]);
    // The benchmarked stages out of order: consecutive pairs.
    expect(defaultTransitions(funnelOf('account_created', 'active_integration', 'first_api_call', 'production_deployment')).map((t) => `${t.from}:${t.to}`)).toEqual([
      'account_created:active_integration',
      'active_integration:first_api_call',
      'first_api_call:production_deployment',
    ]);
  });

  it('takes any pair of the funnel in order, and names the transition and the stages otherwise', () => {
    const funnel = funnelOf('signed_up', 'hello_world', 'paying');
    const parse = (value: string) => transitionsParam.parse(value);
    expect(funnelTransitionsProblem(parse('signed_up:paying:7d, hello_world:paying:1d'), funnel)).toBeUndefined();
    expect(funnelTransitionsProblem(parse('signed_up:paying:7d,account_created:paying:7d'), funnel)).toBe(
      'transition 2 ("account_created:paying:7d"): unknown stage "account_created" (one of signed_up, hello_world, paying)',
    );
    expect(funnelTransitionsProblem(parse('paying:hello_world:7d'), funnel)).toBe('transition 1 ("paying:hello_world:7d"): "hello_world" must come after "paying" in the funnel');
    // The parameter's own grammar: snake_case stage ids, 1–365 days.
    expect(transitionsParam.safeParse('Signed_Up:paying:7d').success).toBe(false);
    expect(transitionsParam.safeParse('a:b:366d').success).toBe(false);
  });
});
