import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ingestBody, MAX_EVENTS_PER_BATCH } from '../../events/event-schemas.ts';
import type { EventIngestor } from '../../ingest/event-ingestor.ts';
import { ingestEvents, ingestRejected } from '../../metrics/process-metrics.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';
import { accepted } from './events-route.ts';

export interface ImportRouteOptions {
  ingestor: EventIngestor;
  adminKeys: readonly string[];
  /** Called after a batch committed signals to the outbox (wakes the dispatcher). */
  onSignalsQueued?: () => void;
}

/**
 * `POST /v1/import`: a backfill of historical events (admin key). The same contract as
 * `POST /v1/events` — validation, tables, idempotency by event id — but the journey signals it
 * causes are marked imported: stages and metrics come out as if lived, and nothing is sent or
 * escalated for the past (src/journey/nudging.ts, handoff.ts).
 */
export const importRoute: FastifyPluginAsyncZod<ImportRouteOptions> = async (app, { ingestor, adminKeys, onSignalsQueued }) => {
  app.post(
    '/v1/import',
    {
      onRequest: bearerAuth(adminKeys),
      onResponse: async (_request, reply) => {
        if (reply.statusCode >= 400) ingestRejected.inc({ status: String(reply.statusCode) });
      },
      preValidation: async (request, reply) => {
        const events = (request.body as { events?: unknown } | undefined)?.events;
        if (Array.isArray(events) && events.length > MAX_EVENTS_PER_BATCH) {
          return reply.code(413).send({ errors: [{ path: 'events', message: `at most ${MAX_EVENTS_PER_BATCH} events per request (got ${events.length})` }] });
        }
      },
      schema: {
        summary: 'Backfill historical events (admin key): stored as by /v1/events, idempotent by event id; no nudge or escalation for the past',
        body: ingestBody,
        response: { 202: accepted, 400: errorResponse, 401: errorResponse, 413: errorResponse, 415: errorResponse, 503: errorResponse },
      },
    },
    async (request, reply) => {
      const result = await ingestor.ingest(request.body.events, { imported: true });
      if (result.signals > 0) onSignalsQueued?.();
      ingestEvents.inc({ result: 'accepted' }, result.accepted);
      ingestEvents.inc({ result: 'duplicate' }, result.duplicates);
      return reply.code(202).send({ accepted: result.accepted, duplicates: result.duplicates, unattributed: result.unattributed, deleted: result.deleted });
    },
  );
};
