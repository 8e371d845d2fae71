import type { IngestEvent } from '../events/event-schemas.ts';

/** Events in occurredAt order, handed out as sandbox time reaches them. */
export interface EventFeed {
  /** The time of the next event not yet taken (ms), or undefined when there is none. */
  nextTime(): Promise<number | undefined>;
  /** Every event not yet taken that occurred at or before `time`, in order. */
  takeUntil(time: number): Promise<IngestEvent[]>;
  close(): Promise<void>;
}

const timeOf = (event: IngestEvent) => Date.parse(event.occurredAt);

/** A feed over events held in memory; `add` merges more in (reactions to emails sent). */
export class ArrayFeed implements EventFeed {
  private readonly events: IngestEvent[];
  private next = 0;

  constructor(events: Iterable<IngestEvent>) {
    this.events = [...events].sort((a, b) => timeOf(a) - timeOf(b));
  }

  add(events: IngestEvent[]): void {
    if (events.length === 0) return;
    const rest = this.events.splice(this.next).concat(events);
    rest.sort((a, b) => timeOf(a) - timeOf(b));
    this.events.push(...rest);
  }

  async nextTime(): Promise<number | undefined> {
    const event = this.events[this.next];
    return event && timeOf(event);
  }

  async takeUntil(time: number): Promise<IngestEvent[]> {
    const from = this.next;
    while (this.next < this.events.length && timeOf(this.events[this.next]!) <= time) this.next++;
    return this.events.slice(from, this.next);
  }

  async close(): Promise<void> {}
}

/** Several feeds as one, in time order. */
export function mergeFeeds(feeds: EventFeed[]): EventFeed {
  return {
    async nextTime() {
      const times = (await Promise.all(feeds.map((f) => f.nextTime()))).filter((t): t is number => t !== undefined);
      return times.length === 0 ? undefined : Math.min(...times);
    },
    async takeUntil(time) {
      const taken = (await Promise.all(feeds.map((f) => f.takeUntil(time)))).flat();
      return taken.sort((a, b) => timeOf(a) - timeOf(b));
    },
    async close() {
      await Promise.all(feeds.map((f) => f.close()));
    },
  };
}
