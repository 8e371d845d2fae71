import { describe, expect, it } from 'vitest';
import { stageLabel } from '../../../src/funnel/funnel-in-force.ts';
import type { FunnelDocument } from '../../../src/funnel/funnel-schema.ts';

const funnel: FunnelDocument = {
  stages: [
    { id: 'signed_up', label: 'Signed up', evidence: [{ event: 'developer.signed_up' }] },
    { id: 'first_api_call', evidence: [{ request: { status: '2xx' } }] },
    { id: 'sdk_installed_v2', evidence: [{ event: 'sdk.installed' }] },
  ],
};

describe('how people see a stage (stageLabel: the API, dashboard, CLI, Slack and emails show it)', () => {
  it("is the funnel's label for it", () => {
    expect(stageLabel(funnel, 'signed_up')).toBe('Signed up');
  });

  it('is the id humanised where the stage has no label: words, the first capitalised, API and SDK in capitals', () => {
    expect(stageLabel(funnel, 'first_api_call')).toBe('First API call');
    expect(stageLabel(funnel, 'sdk_installed_v2')).toBe('SDK installed v2');
  });

  it('is the id humanised for a stage the funnel does not hold (a row of another version)', () => {
    expect(stageLabel(funnel, 'paying_customer')).toBe('Paying customer');
  });
});
