import type { IngestEvent } from '../events/event-schemas.ts';
import { Rng } from './random.ts';
import type { SimulatedDeveloper } from './simulation-types.ts';

/**
 * The order events reach Onramp, as a real feed would send them: each developer's history in one
 * request (the gateway, auth system and CRM caught up), then gateway lines that arrive late (after
 * everyone else's history), then duplicates of events already sent (retries, at-least-once
 * exporters). Late lines are requests that prove no stage, so that no journey looks stalled for a
 * moment it never was and gets a nudge the simulated developer would not have.
 */

export interface DeliveryOptions {
  seed: number;
  /** Share of the requests that arrive late. */
  lateShare?: number;
  /** Share of all events sent twice. */
  duplicateShare?: number;
  /** Events per request (≤ 1,000, the API's limit). */
  batchSize?: number;
}

export interface DeliveryPlan {
  batches: IngestEvent[][];
  /** Distinct events (what `accepted` must add up to). */
  events: number;
  late: number;
  duplicates: number;
}

export function planDelivery(developers: readonly SimulatedDeveloper[], options: DeliveryOptions): DeliveryPlan {
  const rng = new Rng(options.seed, 'delivery');
  const lateShare = options.lateShare ?? 0.05;
  const duplicateShare = options.duplicateShare ?? 0.02;
  const batchSize = Math.min(options.batchSize ?? 500, 1000);
  const onTime: IngestEvent[][] = [];
  const late: IngestEvent[] = [];
  const duplicates: IngestEvent[] = [];
  let events = 0;
  for (const developer of developers) {
    const proofs = new Set(Object.values(developer.truth.stages));
    const history: IngestEvent[] = [];
    for (const event of developer.events) {
      events++;
      if (event.type === 'api.request' && !proofs.has(event.occurredAt) && rng.chance(lateShare)) late.push(event);
      else history.push(event);
      if (rng.chance(duplicateShare)) duplicates.push(event);
    }
    if (history.length > 0) onTime.push(history);
  }
  return {
    batches: [...pack(onTime, batchSize), ...chunk(rng.shuffle(late), batchSize), ...chunk(rng.shuffle(duplicates), batchSize)],
    events,
    late: late.length,
    duplicates: duplicates.length,
  };
}

/** Whole developer histories per request where they fit; a longer one is split in order. */
function pack(histories: IngestEvent[][], size: number): IngestEvent[][] {
  const batches: IngestEvent[][] = [];
  let current: IngestEvent[] = [];
  for (const history of histories) {
    if (current.length + history.length > size && current.length > 0) {
      batches.push(current);
      current = [];
    }
    for (const part of chunk(history, size)) {
      if (current.length + part.length > size) {
        batches.push(current);
        current = [];
      }
      current.push(...part);
    }
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
