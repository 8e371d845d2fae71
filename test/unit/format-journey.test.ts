import { describe, expect, it } from 'vitest';
import type { JourneyReadModel } from '../../src/api/journey-schema.ts';
import { formatJourney } from '../../src/cli/format-journey.ts';

/** `onramp journey <id>`: every nudge decision in the timeline, the ones not sent with the reason why. */

const decision = (over: Partial<JourneyReadModel['messages'][number]>): JourneyReadModel['messages'][number] => ({
  nudgeKey: 'first-call-help#1',
  ruleId: 'first-call-help',
  ruleVersion: 3,
  outcome: 'sent',
  reason: null,
  template: 'first-call-help',
  segment: {},
  inputs: {},
  decidedAt: '2026-11-02T10:00:00.000Z',
  scheduledFor: null,
  experiment: null,
  email: null,
  ...over,
});

const journey = {
  developerId: 'dev_1',
  funnelVersion: 1,
  stage: 'credential_provisioned',
  stageAt: '2026-11-01T11:00:00.000Z',
  stages: [{ stage: 'credential_provisioned', label: 'Credential provisioned', status: 'reached', at: '2026-11-01T11:00:00.000Z', causeEventId: 'evt_key' }],
  transitions: [],
  running: true,
  profile: { accountType: null, orgId: null, acquisitionChannel: null, timezone: 'UTC', signedUpAt: null },
  requests: { total: 0, ok: 0, status400: 0, status401: 0, status429: 0, status5xx: 0, sdk: 0, raw: 0, distinctEndpoints: 0, firstAt: null, lastAt: null },
  emailSuppression: null,
  pendingSignals: 0,
  messages: [
    decision({ outcome: 'scheduled', reason: 'quiet_hours', decidedAt: '2026-11-01T22:00:00.000Z', scheduledFor: '2026-11-02T08:00:00.000Z' }),
    decision({ outcome: 'sent', decidedAt: '2026-11-02T08:00:00.000Z' }),
    decision({
      nudgeKey: 'first-call-second-nudge#1',
      ruleId: 'first-call-second-nudge',
      outcome: 'skipped',
      reason: 'frequency_cap',
      template: 'first-call-second',
      decidedAt: '2026-11-04T11:00:00.000Z',
    }),
    decision({ nudgeKey: 'explore-the-api#1', ruleId: 'explore-the-api', outcome: 'cancelled', reason: 'stage_left', template: null, decidedAt: '2026-11-05T11:00:00.000Z' }),
  ],
  handoffs: [],
} as unknown as JourneyReadModel;

describe('formatJourney', () => {
  it('lists every nudge decision in order: deferred, sent, skipped and cancelled with their reasons', () => {
    const nudges = formatJourney(journey).split('\nNudges\n')[1]!.trimEnd().split('\n');
    expect(nudges).toEqual([
      '  2026-11-01T22:00:00.000Z  deferred (quiet_hours) until 2026-11-02T08:00:00.000Z: first-call-help   [first-call-help v3]',
      '  2026-11-02T08:00:00.000Z  sent first-call-help   [first-call-help v3]',
      '  2026-11-04T11:00:00.000Z  skipped (frequency_cap): first-call-second   [first-call-second-nudge v3]',
      '  2026-11-05T11:00:00.000Z  cancelled (stage_left)   [explore-the-api v3]',
    ]);
  });
});
