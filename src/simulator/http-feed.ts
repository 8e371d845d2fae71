import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient } from '../client/api-client.ts';
import type { IngestEvent } from '../events/event-schemas.ts';
import type { DeliveryPlan } from './delivery-plan.ts';
import type { SimulatedDeveloper } from './simulation-types.ts';
import { reactToNudge } from './synthetic-cohort.ts';

/**
 * Drives a synthetic cohort through a running Onramp over its HTTP API (`POST /v1/events`), in
 * the order the delivery plan says, then follows the outbox (`GET /v1/emails?since=`) and posts
 * each developer's reaction to the nudges Onramp actually sent.
 */

export interface FeedOptions {
  /** With the ingest key. */
  ingest: ApiClient;
  /** With the admin key: reads the emails sent. Without it there are no reactions. */
  admin?: ApiClient;
  developers: readonly SimulatedDeveloper[];
  plan: DeliveryPlan;
  seed: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /**
   * Follow the outbox this long at most, and stop earlier once emails have come and `quietMs` passed
   * without a new one (not before the first: a busy system takes a while to send its first nudge).
   */
  followEmails?: { forMs: number; quietMs: number; pollMs?: number };
  onProgress?: (progress: { phase: 'events' | 'emails'; done: number; total: number }) => void;
}

export interface FeedReport {
  requests: number;
  accepted: number;
  duplicates: number;
  unattributed: number;
  emails: number;
  opened: number;
  clicked: number;
  elapsedMs: number;
}

interface IngestResponse {
  accepted: number;
  duplicates: number;
  unattributed: number;
}

interface OutboxEmail {
  id: string;
  developerId: string;
  createdAt: string;
  sentAt: string | null;
}

export async function feedOverHttp(options: FeedOptions): Promise<FeedReport> {
  const started = performance.now();
  const report: FeedReport = { requests: 0, accepted: 0, duplicates: 0, unattributed: 0, emails: 0, opened: 0, clicked: 0, elapsedMs: 0 };
  const post = async (events: IngestEvent[]) => {
    const result = await options.ingest.post<IngestResponse>('/v1/events', { events });
    report.requests++;
    report.accepted += result.accepted;
    report.duplicates += result.duplicates;
    report.unattributed += result.unattributed;
  };

  const total = options.plan.batches.reduce((n, b) => n + b.length, 0);
  let done = 0;
  await inParallel(options.plan.batches, options.concurrency ?? 4, async (batch) => {
    await post(batch);
    done += batch.length;
    options.onProgress?.({ phase: 'events', done, total });
  });

  if (options.admin && options.followEmails) {
    const byId = new Map(options.developers.map((d) => [d.profile.id, d]));
    const seen = new Set<string>();
    const { forMs, quietMs, pollMs = 1000 } = options.followEmails;
    const followStart = Date.now();
    let lastNew: number | undefined;
    let since = new Date(followStart - 60_000).toISOString();
    while (Date.now() - followStart < forMs && (lastNew === undefined || Date.now() - lastNew < quietMs)) {
      const { emails } = await options.admin.get<{ emails: OutboxEmail[] }>(`/v1/emails?limit=500&since=${encodeURIComponent(since)}`);
      const fresh = emails.filter((e) => !seen.has(e.id));
      const reactions: IngestEvent[] = [];
      for (const email of fresh) {
        seen.add(email.id);
        since = email.createdAt;
        const developer = byId.get(email.developerId);
        if (!developer) continue;
        report.emails++;
        const sentAt = new Date(email.sentAt ?? email.createdAt);
        for (const event of reactToNudge(developer, { nudgeKey: email.id, sentAt, messageId: email.id }, options.seed)) {
          // A reaction happens now at the earliest: nothing is posted with a future time.
          reactions.push({ ...event, occurredAt: new Date(Math.min(Date.parse(event.occurredAt), Date.now())).toISOString() });
          if (event.type === 'email.opened') report.opened++;
          if (event.type === 'email.clicked') report.clicked++;
        }
      }
      for (let i = 0; i < reactions.length; i += 500) await post(reactions.slice(i, i + 500));
      if (fresh.length > 0) {
        lastNew = Date.now();
        options.onProgress?.({ phase: 'emails', done: report.emails, total: report.emails });
      }
      if (emails.length < 500) await sleep(pollMs);
    }
  }
  report.elapsedMs = performance.now() - started;
  return report;
}

async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}
