import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { EventIngestor } from '../../ingest/event-ingestor.ts';
import type { SourceStats } from '../../sources/source-stats.ts';
import { ingestEndpoint } from './events-route.ts';

export interface ImportRouteOptions {
  ingestor: EventIngestor;
  adminKeys: readonly string[];
  stats: SourceStats;
  /** Called after a batch committed signals to the outbox (wakes the dispatcher). */
  onSignalsQueued?: () => void;
}

/**
 * `POST /v1/import`: a backfill of historical events (admin key). The same contract as
 * `POST /v1/events` — validation, tables, idempotency by event id — but the journey signals it
 * causes are marked imported: stages and metrics come out as if lived, and nothing is sent or
 * escalated for the past (src/journey/nudging.ts, handoff.ts).
 */
export const importRoute: FastifyPluginAsyncZod<ImportRouteOptions> = async (app, { ingestor, adminKeys, stats, onSignalsQueued }) => {
  ingestEndpoint(app, {
    path: '/v1/import',
    summary: 'Backfill historical events (admin key): stored as by /v1/events, idempotent by event id; no nudge or escalation for the past',
    keys: adminKeys,
    ingestor,
    imported: true,
    source: 'import',
    stats,
    ...(onSignalsQueued ? { onSignalsQueued } : {}),
  });
};
