import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type pg from 'pg';
import { z } from 'zod';
import { createAnnotation, deleteAnnotation, listAnnotations } from '../../audit/annotations.ts';
import { isoInstant } from '../../events/instant.ts';
import { stageIds, unknownStageProblem, type ReadFunnelInForce } from '../../funnel/funnel-in-force.ts';
import { beforeAfter } from '../../metrics/before-after.ts';
import { changeTimeline } from '../../metrics/change-timeline.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';

export interface ChangesRouteOptions {
  pool: pg.Pool;
  funnel: ReadFunnelInForce;
  adminKeys: readonly string[];
  /** The metrics keys and the admin keys: who may read. */
  readKeys: readonly string[];
}

const annotation = z.object({ id: z.string(), at: z.string(), text: z.string(), author: z.string(), createdAt: z.string() });
const range = z.object({ from: isoInstant.optional().describe('from this instant (inclusive)'), to: isoInstant.optional().describe('before this instant') });
const interval = z.object({ low: z.number(), high: z.number() });
const group = z.object({ entered: z.number().int(), measured: z.number().int(), converted: z.number().int(), rate: z.number().nullable(), from: z.string(), to: z.string() });

/**
 * "Did the change work?": the team's annotations (written by the admin key, audited), the
 * timeline the cohort charts mark (every rules, policy and funnel version, and the annotations),
 * and the cohorts before and after a change compared on one transition.
 */
export const changesRoute: FastifyPluginAsyncZod<ChangesRouteOptions> = async (app, { pool, funnel, adminKeys, readKeys }) => {
  const security = [{ bearer: [] }];

  app.post(
    '/v1/annotations',
    {
      onRequest: bearerAuth(adminKeys),
      schema: {
        summary: 'Note a change on the timeline ("new quickstart shipped"): marked on the cohort charts, audited',
        security,
        body: z.strictObject({
          text: z.string().trim().min(1).max(500).describe('what changed'),
          at: isoInstant.optional().describe('when it happened (default: now)'),
          author: z.string().trim().min(1).max(200).default('admin').describe('who notes it (the audit trail)'),
        }),
        response: { 201: annotation, 400: errorResponse, 401: errorResponse },
      },
    },
    async (request, reply) => {
      const { text, at, author } = request.body;
      return reply.code(201).send(await createAnnotation(pool, { text, author, at: at ? new Date(at) : new Date() }));
    },
  );

  app.get(
    '/v1/annotations',
    {
      onRequest: bearerAuth(readKeys),
      schema: {
        summary: 'The annotations, oldest first',
        security,
        querystring: range,
        response: { 200: z.object({ annotations: z.array(annotation) }), 400: errorResponse, 401: errorResponse },
      },
    },
    async (request) => ({
      annotations: await listAnnotations(pool, {
        ...(request.query.from ? { from: new Date(request.query.from) } : {}),
        ...(request.query.to ? { to: new Date(request.query.to) } : {}),
      }),
    }),
  );

  app.delete(
    '/v1/annotations/:id',
    {
      onRequest: bearerAuth(adminKeys),
      schema: {
        summary: 'Remove an annotation (audited)',
        security,
        params: z.object({ id: z.string().regex(/^\d{1,18}$/, 'an annotation id is a number') }),
        querystring: z.object({ author: z.string().trim().min(1).max(200).default('admin'), reason: z.string().max(1000).optional() }),
        response: { 200: z.object({ deleted: annotation }), 400: errorResponse, 401: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) => {
      const deleted = await deleteAnnotation(pool, request.params.id, request.query.author, request.query.reason);
      if (!deleted) return reply.code(404).send({ errors: [{ path: 'id', message: `no annotation ${request.params.id}` }] });
      return { deleted };
    },
  );

  app.get(
    '/v1/changes',
    {
      onRequest: bearerAuth(readKeys),
      schema: {
        summary: 'Every rules, escalation policy, funnel and templates version and every annotation, oldest first: what the cohort charts mark',
        security,
        querystring: range,
        response: {
          200: z.object({
            changes: z.array(
              z.object({
                at: z.string(),
                kind: z.enum(['rules', 'escalation_policy', 'funnel', 'templates', 'annotation']),
                id: z.string().describe("the version, or the annotation's id"),
                text: z.string().describe("the version's reason, or the annotation"),
                author: z.string(),
              }),
            ),
          }),
          400: errorResponse,
          401: errorResponse,
        },
      },
    },
    async (request) => ({
      changes: await changeTimeline(pool, {
        ...(request.query.from ? { from: new Date(request.query.from) } : {}),
        ...(request.query.to ? { to: new Date(request.query.to) } : {}),
      }),
    }),
  );

  app.get(
    '/v1/metrics/before-after',
    {
      onRequest: bearerAuth(readKeys),
      schema: {
        summary:
          'The developers who entered a stage before a change and after it: their conversion to the next stage, the difference with a 95 % interval, and whether it is within noise',
        security,
        querystring: z.object({
          at: isoInstant.describe('the change: a version’s or an annotation’s `at` from GET /v1/changes'),
          stage: z.string().min(1).max(100).describe('the transition’s first stage (a stage of the funnel in force)'),
          next: z.string().min(1).max(100).optional().describe('its second (default: the next stage); reaching a later one counts too'),
          windowDays: z.coerce.number().int().min(1).max(365).default(14).describe('days after entering `stage` to reach `next`'),
          spanDays: z.coerce.number().int().min(1).max(365).default(28).describe('days on each side of the change'),
          asOf: isoInstant.optional(),
        }),
        response: {
          200: z.object({
            asOf: z.string(),
            at: z.string(),
            transition: z.object({ stage: z.string(), stageLabel: z.string(), next: z.string(), nextLabel: z.string() }),
            windowDays: z.number().int(),
            spanDays: z.number().int(),
            before: group,
            after: group,
            difference: z.number().nullable().describe('after.rate − before.rate'),
            ci95: interval.nullable().describe('Wald interval of the difference'),
            verdict: z.enum(['improved', 'worse', 'within_noise', 'too_few']).describe('`within_noise`: the interval includes 0; `too_few`: fewer than minimumMeasured on a side'),
            minimumMeasured: z.number().int(),
          }),
          400: errorResponse,
          401: errorResponse,
        },
      },
    },
    async (request, reply) => {
      const { at, stage, next, windowDays, spanDays, asOf } = request.query;
      const inForce = await funnel();
      const ids = stageIds(inForce.document);
      for (const [path, id] of [
        ['stage', stage],
        ['next', next],
      ] as const) {
        const problem = id === undefined ? undefined : unknownStageProblem(inForce.document, id);
        if (problem) return reply.code(400).send({ errors: [{ path, message: problem }] });
      }
      if (ids.indexOf(stage) === ids.length - 1) return reply.code(400).send({ errors: [{ path: 'stage', message: `"${stage}" is the last stage: no transition leaves it` }] });
      if (next !== undefined && ids.indexOf(next) <= ids.indexOf(stage))
        return reply.code(400).send({ errors: [{ path: 'next', message: `"${next}" does not come after "${stage}"` }] });
      return beforeAfter(pool, inForce, { at: new Date(at), stage, ...(next ? { next } : {}), windowDays, spanDays, asOf: asOf ? new Date(asOf) : new Date() });
    },
  );
};
