import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { bearerAuth, type AcceptedKeys } from '../../api/auth.ts';
import { errorResponse } from '../../api/routes/error-response.ts';
import type { EventIngestor } from '../../ingest/event-ingestor.ts';
import { ingestRejected } from '../../metrics/process-metrics.ts';
import { ingestFromSource } from '../ingest-from-source.ts';
import type { SourceStats } from '../source-stats.ts';
import { kongAccepted, kongLogBody, MAX_KONG_BODY_BYTES } from './kong-log.ts';
import { toOnrampEvents } from './to-onramp-events.ts';

export interface KongRouteOptions {
  ingestor: EventIngestor;
  /** The ingest keys, presented as a bearer token (the plugin's `headers` config sets it). */
  ingestKeys: AcceptedKeys;
  stats: SourceStats;
  onSignalsQueued?: () => void;
}

/**
 * `POST /v1/sources/kong`: the body Kong's HTTP Log plugin sends, one log entry or (queue batching)
 * an array of them, each an `api.request`. A body is one ingest batch: every entry stored, or (a
 * 400 naming the entry's field) none — the plugin's queue then retries it, so fix and resend.
 */
export const kongRoute: FastifyPluginAsyncZod<KongRouteOptions> = async (app, { ingestor, ingestKeys, stats, onSignalsQueued }) => {
  const counted = stats.hooks('kong');
  app.post(
    '/v1/sources/kong',
    {
      onRequest: bearerAuth(ingestKeys),
      onSend: counted.onSend,
      onResponse: [
        counted.onResponse,
        async (_request, reply) => {
          if (reply.statusCode >= 400) ingestRejected.inc({ status: String(reply.statusCode) });
        },
      ],
      bodyLimit: MAX_KONG_BODY_BYTES,
      schema: {
        summary: 'Kong HTTP Log plugin: logged requests as api.request events (idempotent by Kong’s request id), stored all or none',
        body: kongLogBody,
        response: { 200: kongAccepted, 400: errorResponse },
      },
    },
    async (request, reply) => {
      const batched = Array.isArray(request.body);
      const entries: unknown[] = Array.isArray(request.body) ? request.body : [request.body];
      const translation = toOnrampEvents(entries, { modeHeader: request.headers['x-onramp-mode'], prefix: (i) => (batched ? [i] : []) });
      if (translation.errors.length > 0) return reply.code(400).send({ errors: translation.errors });
      const result = await ingestFromSource(request, translation.events, { ingestor, stats, onSignalsQueued });
      return reply.code(200).send({ accepted: result.accepted, duplicates: result.duplicates, unattributed: result.unattributed, deleted: result.deleted });
    },
  );
};
