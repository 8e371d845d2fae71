import { compileFunnel, evaluateFunnel, type FunnelEvent } from '../../src/funnel/evaluate-funnel.ts';
import { shippedFunnel as shippedFunnelVersion } from '../../src/funnel/funnel-file.ts';
import type { ReadFunnelInForce } from '../../src/funnel/funnel-in-force.ts';

export { SHIPPED_FUNNEL_FILE } from '../../src/funnel/funnel-file.ts';

/** The funnel Onramp ships (config/funnel.yaml), as version 1. */
const shipped = shippedFunnelVersion();
export const shippedFunnel = shipped.document;
const compiled = compileFunnel(shippedFunnel);

/** The stages the shipped funnel says `events` reach, as the journey API's reached stages: stage → its time and cause. */
export function shippedFunnelStages(events: readonly FunnelEvent[]): Record<string, { at: string; causeEventId: string }> {
  const reached = evaluateFunnel(compiled, events);
  return Object.fromEntries([...reached].map(([stage, proof]) => [stage, { at: new Date(proof.occurredAt).toISOString(), causeEventId: proof.eventId }]));
}

/** The shipped funnel as the funnel in force (version 1), for apps built in tests. */
export const shippedFunnelInForce: ReadFunnelInForce = async () => shipped;
