import type { FastifyRequest } from 'fastify';
import type { IngestEvent } from '../events/event-schemas.ts';
import type { EventIngestor, IngestResult } from '../ingest/event-ingestor.ts';
import { ingestEvents } from '../metrics/process-metrics.ts';
import { formatPath } from '../rules/config-file.ts';
import type { SourceStats } from './source-stats.ts';

/** What a source route needs to store what it translated. */
export interface SourceIngest {
  ingestor: EventIngestor;
  stats: SourceStats;
  onSignalsQueued?: (() => void) | undefined;
}

/**
 * A source's translated events as one ingest batch, as every ingest route stores them: the outbox
 * woken for the signals they queued, the Prometheus counts, and the source's own counts
 * (GET /v1/sources). Nothing to store is an answer of zeros, with no transaction.
 */
export async function ingestFromSource(
  request: FastifyRequest,
  events: IngestEvent[],
  { ingestor, stats, onSignalsQueued }: SourceIngest,
  options: { imported?: boolean } = {},
): Promise<Omit<IngestResult, 'signals'>> {
  const result =
    events.length > 0 ? await ingestor.ingest(events, options.imported ? { imported: true } : {}) : { accepted: 0, duplicates: 0, unattributed: 0, signals: 0, deleted: 0 };
  if (result.signals > 0) onSignalsQueued?.();
  ingestEvents.inc({ result: 'accepted' }, result.accepted);
  ingestEvents.inc({ result: 'duplicate' }, result.duplicates);
  stats.note(
    request,
    result,
    events.map((e) => e.occurredAt),
  );
  return result;
}

/** Zod issues as the API's field errors, their paths under `prefix` (a record's index). */
export function issueErrors(issues: readonly { path: readonly PropertyKey[]; message: string }[], prefix: (string | number)[] = []): { path: string; message: string }[] {
  return issues.map((issue) => ({ path: formatPath([...prefix, ...(issue.path as (string | number)[])]), message: issue.message }));
}
