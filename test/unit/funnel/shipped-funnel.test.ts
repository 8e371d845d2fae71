import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SHIPPED_STAGES } from '../../../src/journey/stages.ts';
import { developerHistory, historyEvents } from '../../support/developer-histories.ts';
import { expectedStages } from '../../support/expected-stages.ts';
import { shippedFunnel, shippedFunnelStages } from '../../support/shipped-funnel.ts';

/** config/funnel.yaml is today's funnel, exactly: the seven stages, and what proves each. */
describe('the shipped funnel', () => {
  it('has the seven stages in order, first call and production in their roles', () => {
    expect(shippedFunnel.stages.map((s) => s.id)).toEqual([...SHIPPED_STAGES]);
    expect(shippedFunnel.stages.filter((s) => s.role).map((s) => [s.role, s.id])).toEqual([
      ['first_call', 'first_api_call'],
      ['production', 'production_deployment'],
    ]);
  });

  it('says of any history what the hand-written stage definitions say', () => {
    fc.assert(
      fc.property(developerHistory, (history) => {
        const events = historyEvents('dev', history);
        expect(shippedFunnelStages(events)).toEqual(expectedStages(events));
      }),
      { numRuns: 500 },
    );
  });
});
