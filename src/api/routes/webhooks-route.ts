import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { durationMs } from '../../rules/duration.ts';
import { receiverAddressProblem } from '../../webhooks/receiver-address.ts';
import { WEBHOOK_EVENT_TYPES } from '../../webhooks/webhook-events.ts';
import { DELIVERY_STATUSES, type WebhookStore } from '../../webhooks/webhook-store.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';

export interface WebhooksRouteOptions {
  store: WebhookStore;
  adminKeys: readonly string[];
  /** Private or loopback addresses a receiver may have (ONRAMP_WEBHOOK_ALLOWED_ADDRESSES). */
  allowedAddresses: readonly string[];
  /** A redelivery was queued: the dispatcher need not wait for its next poll. */
  onQueued?: () => void;
}

const eventType = z.enum(WEBHOOK_EVENT_TYPES);
const subscription = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(eventType),
  description: z.string().nullable(),
  createdAt: z.string(),
  createdBy: z.string(),
  previousSecretExpiresAt: z.string().nullable().describe('while set, messages are signed with the rotated-out secret too'),
  pending: z.int().describe('messages waiting for delivery'),
  failed: z.int().describe('messages given up after the retry window (redeliver them by id)'),
  lastDeliveredAt: z.string().nullable(),
});
const delivery = z.object({
  id: z.string().describe('the `webhook-id` header: the same on every attempt'),
  type: eventType,
  developerId: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.int(),
  queuedAt: z.string(),
  nextAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  lastStatus: z.int().nullable(),
  lastError: z.string().nullable(),
  payload: z.unknown().describe('the body as sent: {type, timestamp, data}'),
});
const attempt = z.object({ at: z.string(), durationMs: z.int(), status: z.int().nullable(), error: z.string().nullable(), response: z.string().nullable() });
const author = z.string().max(200).regex(/\S/, 'must name who does this').trim();
const reason = z.string().max(1000).trim().optional();
const params = z.object({ id: z.string().min(1).max(64) });
const messageParams = params.extend({ messageId: z.string().min(1).max(64) });
const notFound = (id: string) => ({ errors: [{ path: 'id', message: `no webhook ${id}` }] });

/**
 * Outgoing webhooks (admin key): subscriptions, their secrets, and the delivery log. Messages are
 * signed per Standard Webhooks and delivered in order per developer (webhook-dispatcher.ts).
 */
export const webhooksRoute: FastifyPluginAsyncZod<WebhooksRouteOptions> = async (app, { store, adminKeys, allowedAddresses, onQueued }) => {
  const onRequest = bearerAuth(adminKeys);
  const security = [{ bearer: [] }];

  app.post(
    '/v1/webhooks',
    {
      onRequest,
      schema: {
        summary: 'Subscribe a URL to event kinds; the signing secret is in this response only',
        security,
        body: z.strictObject({
          url: z
            .url({ protocol: /^https?$/, error: 'must be an http or https URL' })
            .max(2000)
            .refine((u) => !URL.canParse(u) || (!new URL(u).username && !new URL(u).password), 'must not carry credentials: authenticate the sender by its signature'),
          events: z.array(eventType).min(1, 'must name at least one event kind').describe('what it hears'),
          description: z.string().max(500).optional(),
          author: author.default('admin'),
          reason,
        }),
        response: {
          201: subscription.extend({ secret: z.string().describe('`whsec_…`: verify signatures with it (Standard Webhooks); it cannot be shown again') }),
          400: errorResponse,
          401: errorResponse,
        },
      },
    },
    async (request, reply) => {
      const problem = await receiverAddressProblem(new URL(request.body.url), allowedAddresses);
      if (problem) return reply.code(400).send({ errors: [{ path: 'url', message: problem }] });
      return reply.code(201).send(await store.create(request.body));
    },
  );

  app.get(
    '/v1/webhooks',
    {
      onRequest,
      schema: {
        summary: 'Webhook subscriptions, oldest first (never their secrets)',
        security,
        response: { 200: z.object({ webhooks: z.array(subscription) }), 401: errorResponse },
      },
    },
    async () => ({ webhooks: await store.list() }),
  );

  app.get(
    '/v1/webhooks/:id',
    { onRequest, schema: { summary: 'One webhook subscription', security, params, response: { 200: subscription, 400: errorResponse, 401: errorResponse, 404: errorResponse } } },
    async (request, reply) => (await store.get(request.params.id)) ?? reply.code(404).send(notFound(request.params.id)),
  );

  app.delete(
    '/v1/webhooks/:id',
    {
      onRequest,
      schema: {
        summary: 'Unsubscribe: its queued messages and delivery log go with it',
        security,
        params,
        querystring: z.object({ author: author.optional(), reason }),
        response: { 204: z.null().describe('deleted'), 400: errorResponse, 401: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) => {
      const deleted = await store.delete(request.params.id, { author: request.query.author ?? 'admin', reason: request.query.reason });
      return deleted ? reply.code(204).send(null) : reply.code(404).send(notFound(request.params.id));
    },
  );

  app.post(
    '/v1/webhooks/:id/rotate-secret',
    {
      onRequest,
      schema: {
        summary: 'A new signing secret; messages carry signatures with the old one too until the overlap ends',
        security,
        params,
        body: z.strictObject({
          overlap: z
            .string()
            .regex(/^\d{1,4}[mhd]$/, 'must be a duration in minutes, hours or days, like "90m", "24h" or "7d"')
            .default('24h')
            .describe('how long the old secret still signs (default 24h; 0m: not at all)'),
          author: author.default('admin'),
          reason,
        }),
        response: { 200: z.object({ id: z.string(), secret: z.string(), previousSecretExpiresAt: z.string() }), 400: errorResponse, 401: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) => {
      const rotated = await store.rotateSecret(request.params.id, durationMs(request.body.overlap), request.body);
      return rotated ? { id: request.params.id, ...rotated } : reply.code(404).send(notFound(request.params.id));
    },
  );

  app.get(
    '/v1/webhooks/:id/deliveries',
    {
      onRequest,
      schema: {
        summary: 'The delivery log, newest first',
        security,
        params,
        querystring: z.object({
          status: z.enum(DELIVERY_STATUSES).optional(),
          developer: z.string().min(1).max(200).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
          cursor: z
            .string()
            .regex(/^\d{1,18}$/, 'not a cursor from a previous page')
            .optional(),
        }),
        response: { 200: z.object({ deliveries: z.array(delivery), nextCursor: z.string().nullable() }), 400: errorResponse, 401: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) => {
      if (!(await store.get(request.params.id))) return reply.code(404).send(notFound(request.params.id));
      const { status, developer, limit, cursor } = request.query;
      const page = await store.deliveries(request.params.id, { status, developerId: developer, limit, before: cursor });
      return { deliveries: page.deliveries, nextCursor: page.next };
    },
  );

  app.get(
    '/v1/webhooks/:id/deliveries/:messageId',
    {
      onRequest,
      schema: {
        summary: 'One message with every attempt and what the receiver answered',
        security,
        params: messageParams,
        response: { 200: delivery.extend({ attemptLog: z.array(attempt) }), 400: errorResponse, 401: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) =>
      (await store.delivery(request.params.id, request.params.messageId)) ??
      reply.code(404).send({ errors: [{ path: 'messageId', message: `no message ${request.params.messageId} for webhook ${request.params.id}` }] }),
  );

  app.post(
    '/v1/webhooks/:id/deliveries/:messageId/redeliver',
    {
      onRequest,
      schema: {
        summary: 'Send a message again now: delivered or given up (same webhook-id, a fresh retry window), or waiting for its next retry',
        security,
        params: messageParams,
        response: { 202: delivery, 400: errorResponse, 401: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) => {
      const queued = await store.redeliver(request.params.id, request.params.messageId);
      if (!queued) return reply.code(404).send({ errors: [{ path: 'messageId', message: `no message ${request.params.messageId} for webhook ${request.params.id}` }] });
      onQueued?.();
      return reply.code(202).send(queued);
    },
  );
};
