import fc from 'fast-check';
import { SHIPPED_STAGES } from '../../src/journey/stages.ts';
import { describe, expect, it } from 'vitest';
import { stageViews } from '../../src/journey/evidence.ts';
import type { JourneyEvent } from '../../src/journey/journey-event.ts';
import { applyJourneyEvent, startJourney } from '../../src/journey/journey-runtime.ts';

const base = Date.UTC(2026, 10, 1);

/** Events with few distinct instants and ids, so ties and duplicates are common. */
const journeyEvent: fc.Arbitrary<JourneyEvent> = fc
  .record({
    n: fc.integer({ min: 0, max: 30 }),
    minutes: fc.integer({ min: 0, max: 20 }).map((m) => m * 30),
    kind: fc.constantFrom(
      'docs.viewed',
      'developer.signed_up',
      'api_key.created',
      'quickstart.completed',
      'webhook.test',
      'webhook.live',
      'email.opened',
      'first_api_call',
      'active_integration',
      'production_deployment',
    ),
  })
  .map(({ n, minutes, kind }): JourneyEvent => {
    const occurredAt = new Date(base + minutes * 60_000).toISOString();
    const id = `e${n}`;
    if (kind === 'first_api_call' || kind === 'active_integration' || kind === 'production_deployment') {
      return { id: `${id}#${kind}`, type: 'api.milestone', stage: kind, occurredAt, causeEventId: id };
    }
    if (kind === 'webhook.test' || kind === 'webhook.live') {
      return { id: `${id}-w`, type: 'webhook.registered', occurredAt, properties: { mode: kind === 'webhook.live' ? 'live' : 'test' } };
    }
    return { id: `${id}-${kind}`, type: kind, occurredAt };
  });

function finalStages(events: JourneyEvent[]) {
  let snapshot = startJourney({ developerId: 'd' });
  for (const event of events) snapshot = applyJourneyEvent(snapshot, event).snapshot;
  // `late` records arrival order by design; everything else must not depend on it.
  return stageViews(snapshot.context.evidence, SHIPPED_STAGES).map(({ late: _late, ...view }) => view);
}

describe('order independence', () => {
  it('the same set of events, in any order and with duplicates, gives the same stages', () => {
    fc.assert(
      fc.property(
        fc
          .array(journeyEvent, { minLength: 1, maxLength: 25 })
          .chain((events) =>
            fc.tuple(
              fc.constant(events),
              fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
              fc.array(fc.constantFrom(...events), { maxLength: 10 }),
            ),
          ),
        ([events, shuffled, duplicates]) => {
          // Identical ids must carry identical content for this to be a set: dedupe by id first.
          const unique = [...new Map(events.map((e) => [e.id, e])).values()];
          const byId = new Map(unique.map((e) => [e.id, e]));
          const reordered = [...shuffled, ...duplicates].map((e) => byId.get(e.id)!);
          expect(finalStages(reordered)).toEqual(finalStages(unique));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('the current stage never moves backwards while events arrive', () => {
    fc.assert(
      fc.property(fc.array(journeyEvent, { maxLength: 30 }), (events) => {
        let snapshot = startJourney({ developerId: 'd' });
        let rank = -1;
        for (const event of events) {
          snapshot = applyJourneyEvent(snapshot, event).snapshot;
          const views = stageViews(snapshot.context.evidence, SHIPPED_STAGES);
          const current = views.map((v) => v.status).lastIndexOf('reached');
          expect(current).toBeGreaterThanOrEqual(rank);
          rank = current;
        }
      }),
    );
  });
});
