import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { headerKeyAuth, type AcceptedKeys } from '../../api/auth.ts';
import type { FieldError } from '../../api/error-handler.ts';
import type { EventIngestor } from '../../ingest/event-ingestor.ts';
import { ingestRejected } from '../../metrics/process-metrics.ts';
import { ingestFromSource } from '../ingest-from-source.ts';
import type { SourceStats } from '../source-stats.ts';
import { commonAttribute, firehoseRequest, firehoseResponse, MAX_FIREHOSE_BODY_BYTES } from './firehose-delivery.ts';
import { toOnrampEvents } from './to-onramp-events.ts';

export interface FirehoseRouteOptions {
  ingestor: EventIngestor;
  /** The ingest keys, presented as the stream's access key. */
  ingestKeys: AcceptedKeys;
  stats: SourceStats;
  onSignalsQueued?: () => void;
}

const requestIdOf = (request: FastifyRequest) => {
  const header = request.headers['x-amz-firehose-request-id'];
  return (Array.isArray(header) ? header[0] : header) ?? (request.body as { requestId?: unknown } | undefined)?.requestId?.toString() ?? '';
};

/** Firehose's error body: every field error in `errorMessage`, which Firehose logs as it is. */
const firehoseError = (request: FastifyRequest, errors: readonly FieldError[]) => ({
  requestId: requestIdOf(request),
  timestamp: Date.now(),
  errorMessage: errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; '),
});

/**
 * `POST /v1/sources/aws-firehose`: API Gateway access logs delivered by Amazon Data Firehose's HTTP
 * endpoint destination, each line an `api.request`. A delivery is one ingest batch: every record
 * stored, or none (Firehose retries a failed delivery, then backs it up to S3). Every answer is in
 * Firehose's format, errors too: they reach the stream's CloudWatch error log as they are.
 */
export const firehoseRoute: FastifyPluginAsyncZod<FirehoseRouteOptions> = async (app, { ingestor, ingestKeys, stats, onSignalsQueued }) => {
  const counted = stats.hooks('aws-firehose');
  /** The API's `{"errors":[…]}` of the key check and the error handler, in Firehose's format. */
  const inFirehoseFormat = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) =>
    reply.statusCode >= 400 && payload !== null && typeof payload === 'object' && 'errors' in payload
      ? firehoseError(request, (payload as { errors: FieldError[] }).errors)
      : payload;
  app.post(
    '/v1/sources/aws-firehose',
    {
      onRequest: headerKeyAuth(ingestKeys, 'X-Amz-Firehose-Access-Key'),
      preSerialization: inFirehoseFormat,
      onSend: counted.onSend,
      onResponse: [
        counted.onResponse,
        async (_request, reply) => {
          if (reply.statusCode >= 400) ingestRejected.inc({ status: String(reply.statusCode) });
        },
      ],
      bodyLimit: MAX_FIREHOSE_BODY_BYTES,
      schema: {
        summary: 'Amazon Data Firehose HTTP endpoint: API Gateway access log records as api.request events (idempotent by API Gateway’s request id), stored all or none',
        security: [{ firehoseAccessKey: [] }],
        body: firehoseRequest,
        response: { 200: firehoseResponse, 400: firehoseResponse, 401: firehoseResponse, 413: firehoseResponse, 415: firehoseResponse, 503: firehoseResponse },
      },
    },
    async (request, reply) => {
      const mode = commonAttribute(request.headers['x-amz-firehose-common-attributes'], 'mode');
      const translation = toOnrampEvents(request.body.records, { mode });
      if (translation.errors.length > 0) return reply.code(400).send(firehoseError(request, translation.errors));
      await ingestFromSource(request, translation.events, { ingestor, stats, onSignalsQueued });
      return reply.code(200).send({ requestId: requestIdOf(request), timestamp: Date.now() });
    },
  );
};
