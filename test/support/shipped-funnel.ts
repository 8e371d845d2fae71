import { fileURLToPath } from 'node:url';
import { compileFunnel, evaluateFunnel, type FunnelEvent } from '../../src/funnel/evaluate-funnel.ts';
import { funnelFormat } from '../../src/funnel/funnel-file.ts';
import type { ReadFunnelInForce } from '../../src/funnel/funnel-in-force.ts';

/** The funnel Onramp ships (config/funnel.yaml). */
export const SHIPPED_FUNNEL_FILE = fileURLToPath(new URL('../../config/funnel.yaml', import.meta.url));

const read = funnelFormat.read(SHIPPED_FUNNEL_FILE);
if (!read.ok) throw new Error(`${SHIPPED_FUNNEL_FILE} is invalid:\n${read.errors.map(funnelFormat.formatError).join('\n')}`);
export const shippedFunnel = read.document;
const compiled = compileFunnel(shippedFunnel);

/** The stages the shipped funnel says `events` reach, as the journey API's reached stages: stage → its time and cause. */
export function shippedFunnelStages(events: readonly FunnelEvent[]): Record<string, { at: string; causeEventId: string }> {
  const reached = evaluateFunnel(compiled, events);
  return Object.fromEntries([...reached].map(([stage, proof]) => [stage, { at: new Date(proof.occurredAt).toISOString(), causeEventId: proof.eventId }]));
}

/** The shipped funnel as the funnel in force (version 1), for apps built in tests. */
export const shippedFunnelInForce: ReadFunnelInForce = async () => ({ version: 1, document: shippedFunnel });
