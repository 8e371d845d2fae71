import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type pg from 'pg';
import type { z } from 'zod';
import { writeKeyAuth, type AcceptedKeys } from '../../api/auth.ts';
import type { FieldError } from '../../api/error-handler.ts';
import { formatPath } from '../../rules/config-file.ts';
import type { EventIngestor } from '../../ingest/event-ingestor.ts';
import { ingestRejected } from '../../metrics/process-metrics.ts';
import { ingestFromSource } from '../ingest-from-source.ts';
import type { SourceStats } from '../source-stats.ts';
import type { SegmentMapping } from './segment-mapping.ts';
import { batchBody, identifyMessage, MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, pageMessage, segmentAccepted, trackMessage, type SegmentMessage } from './segment-messages.ts';
import { toOnrampEvents } from './to-onramp-events.ts';

export interface SegmentRouteOptions {
  ingestor: EventIngestor;
  pool: pg.Pool;
  /** The ingest keys: a write key is one, presented as HTTP Basic user name (or bearer). */
  writeKeys: AcceptedKeys;
  mapping: SegmentMapping;
  stats: SourceStats;
  onSignalsQueued?: () => void;
}

/**
 * `/v1/sources/segment/{track,identify,page,batch}`: Segment's HTTP Tracking API, for Segment,
 * RudderStack, Jitsu or any CDP forwarding to a Segment-shaped destination. Each request is one
 * ingest batch: every message stored, or (a 4xx naming the field) none.
 */
export const segmentRoute: FastifyPluginAsyncZod<SegmentRouteOptions> = async (app, { ingestor, pool, writeKeys, mapping, stats, onSignalsQueued }) => {
  const hooks = {
    onRequest: writeKeyAuth(writeKeys),
    ...stats.hooks('segment'),
  };
  const countRejected = async (_request: FastifyRequest, reply: FastifyReply) => {
    if (reply.statusCode >= 400) ingestRejected.inc({ status: String(reply.statusCode) });
  };

  async function receive(request: FastifyRequest, reply: FastifyReply, messages: SegmentMessage[], prefix: (index: number) => (string | number)[]) {
    // Segment answers 400 for a message over 32 KB (a batch over 500 KB is the body limit's 413);
    // a body within 32 KB holds none, and its messages are not serialised again to measure them.
    const small = Number(request.headers['content-length']) <= MAX_MESSAGE_BYTES;
    const oversized = small
      ? []
      : messages.flatMap((m, i) =>
          Buffer.byteLength(JSON.stringify(m)) > MAX_MESSAGE_BYTES ? [{ path: formatPath(prefix(i)), message: `a message may hold at most ${MAX_MESSAGE_BYTES / 1024} KB` }] : [],
        );
    if (oversized.length > 0) return reply.code(400).send({ errors: oversized });
    const translation = toOnrampEvents(messages, { mapping, signedUp: await signedUp(pool, messages), receivedAt: new Date().toISOString(), prefix });
    if (translation.errors.length > 0) return reply.code(400).send({ errors: translation.errors satisfies FieldError[] });
    const result = await ingestFromSource(request, translation.events, { ingestor, stats, onSignalsQueued });
    return reply.code(200).send({ success: true, accepted: result.accepted, duplicates: result.duplicates, unattributed: result.unattributed, deleted: result.deleted });
  }

  const single = (type: SegmentMessage['type'], schema: z.ZodType, summary: string) =>
    app.post(
      `/v1/sources/segment/${type}`,
      { ...hooks, onResponse: [hooks.onResponse, countRejected], bodyLimit: MAX_MESSAGE_BYTES, schema: { summary, body: schema, response: { 200: segmentAccepted } } },
      async (request, reply) => receive(request, reply, [{ ...(request.body as object), type } as SegmentMessage], () => []),
    );
  single('track', trackMessage, 'Segment track: a named event, as the mapping says (idempotent by messageId)');
  single('identify', identifyMessage, 'Segment identify: the traits of a developer (their first complete one is their signup)');
  single('page', pageMessage, 'Segment page: a docs page viewed');

  app.post(
    '/v1/sources/segment/batch',
    {
      ...hooks,
      onResponse: [hooks.onResponse, countRejected],
      bodyLimit: MAX_BATCH_BYTES,
      schema: { summary: 'Segment batch: track, identify and page messages, stored all or none', body: batchBody, response: { 200: segmentAccepted } },
    },
    async (request, reply) => receive(request, reply, request.body.batch, (i) => ['batch', i]),
  );
};

/** The developers among the identified ones whose signup is stored already. */
async function signedUp(pool: pg.Pool, messages: SegmentMessage[]): Promise<Set<string>> {
  const ids = [...new Set(messages.flatMap((m) => (m.type === 'identify' && m.userId !== undefined ? [m.userId] : [])))];
  if (ids.length === 0) return new Set();
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM developers WHERE id = ANY($1::text[]) AND signed_up_at IS NOT NULL', [ids]);
  return new Set(rows.map((r) => r.id));
}
