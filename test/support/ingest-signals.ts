import { stageProvedSignalId, stagesProvenBy, type JourneyEvent } from '../../src/journey/journey-event.ts';
import { SHIPPED_STAGES, type JourneyFunnel } from '../../src/journey/stages.ts';

const SHIPPED: JourneyFunnel = { version: 1, stages: SHIPPED_STAGES };

/**
 * What the ingest side sends a journey for these events under the shipped funnel (version 1):
 * each event, then a `stage.proved` for each shipped stage it proves (an `api.milestone` becomes
 * its `stage.proved`). For workflow tests that signal journeys directly, without the ingestor.
 */
export function asIngestSends(events: JourneyEvent[]): JourneyEvent[] {
  return events.flatMap((event) => {
    const proofs = stagesProvenBy(event).map(({ stage, causeEventId }): JourneyEvent => ({
      id: stageProvedSignalId(causeEventId, stage, SHIPPED.version),
      type: 'stage.proved',
      stage,
      occurredAt: event.occurredAt,
      causeEventId,
      funnel: SHIPPED,
      ...('imported' in event && event.imported ? { imported: true as const } : {}),
    }));
    return event.type === 'api.milestone' ? proofs : [event, ...proofs];
  });
}
