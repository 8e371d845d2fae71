import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ingestBody, ingestEvent, MAX_EVENTS_PER_BATCH } from '../../events/event-schemas.ts';
import type { EventIngestor } from '../../ingest/event-ingestor.ts';
import { ingestRejected } from '../../metrics/process-metrics.ts';
import { ingestFromSource } from '../../sources/ingest-from-source.ts';
import type { SourceName, SourceStats } from '../../sources/source-stats.ts';
import { bearerAuth, type AcceptedKeys } from '../auth.ts';
import { errorResponse } from './error-response.ts';

export interface EventsRouteOptions {
  ingestor: EventIngestor;
  ingestKeys: readonly string[] | AcceptedKeys;
  stats: SourceStats;
  /** Called after a batch committed signals to the outbox (wakes the dispatcher). */
  onSignalsQueued?: () => void;
}

export const accepted = z.object({
  accepted: z.int().describe('events stored by this request'),
  duplicates: z.int().describe('events whose id was already stored (changed nothing)'),
  unattributed: z.int().describe('api.request and custom events whose key is not (yet) mapped to a developer; kept and attributed when the key arrives'),
  deleted: z.int().describe('events of deleted developers (DELETE /v1/developers/:id): not stored'),
});

/**
 * A batch of events into the ingest transaction: the live feed (`POST /v1/events`) and the backfill
 * (`POST /v1/import`, whose signals are marked imported) share the whole contract.
 */
export function ingestEndpoint(
  app: Parameters<FastifyPluginAsyncZod>[0],
  {
    path,
    summary,
    keys,
    ingestor,
    source,
    stats,
    onSignalsQueued,
    imported = false,
  }: {
    path: string;
    summary: string;
    keys: readonly string[] | AcceptedKeys;
    ingestor: EventIngestor;
    source: SourceName | ((request: FastifyRequest) => SourceName);
    stats: SourceStats;
    onSignalsQueued?: () => void;
    imported?: boolean;
  },
): void {
  const counted = stats.hooks(source);
  app.post(
    path,
    {
      onRequest: bearerAuth(keys),
      onSend: counted.onSend,
      onResponse: [
        counted.onResponse,
        async (_request, reply) => {
          if (reply.statusCode >= 400) ingestRejected.inc({ status: String(reply.statusCode) });
        },
      ],
      // Count before validating: an oversized batch is a 413 whatever its content.
      preValidation: async (request, reply) => {
        const events = (request.body as { events?: unknown } | undefined)?.events;
        if (Array.isArray(events) && events.length > MAX_EVENTS_PER_BATCH) {
          return reply.code(413).send({ errors: [{ path: 'events', message: `at most ${MAX_EVENTS_PER_BATCH} events per request (got ${events.length})` }] });
        }
      },
      schema: {
        summary,
        body: ingestBody,
        response: { 202: accepted, 400: errorResponse, 401: errorResponse, 413: errorResponse, 415: errorResponse, 503: errorResponse },
      },
    },
    async (request, reply) => {
      const result = await ingestFromSource(request, request.body.events, { ingestor, stats, onSignalsQueued }, { imported });
      return reply.code(202).send({ accepted: result.accepted, duplicates: result.duplicates, unattributed: result.unattributed, deleted: result.deleted });
    },
  );
}

/** The @onramp/node middleware marks its batches (`X-Onramp-Source: middleware`): counted as their own source, stored alike. */
function sourceOfEvents(request: FastifyRequest): SourceName {
  return request.headers['x-onramp-source'] === 'middleware' ? 'middleware' : 'events';
}

export const eventsRoute: FastifyPluginAsyncZod<EventsRouteOptions> = async (app, { ingestor, ingestKeys, stats, onSignalsQueued }) => {
  ingestEndpoint(app, {
    path: '/v1/events',
    source: sourceOfEvents,
    stats,
    summary: 'Ingest a batch of events (or one event object); idempotent by event id',
    keys: ingestKeys,
    ingestor,
    ...(onSignalsQueued ? { onSignalsQueued } : {}),
  });

  app.get(
    '/v1/schemas/events',
    { config: { static: true }, schema: { summary: 'The event contract as JSON Schema (draft 2020-12)', response: { 200: z.record(z.string(), z.unknown()) } } },
    async () => z.toJSONSchema(ingestEvent, { io: 'input', target: 'draft-2020-12' }),
  );
};
