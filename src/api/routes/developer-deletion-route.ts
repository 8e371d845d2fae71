import type pg from 'pg';
import type { Client } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SlackGateway } from '../../slack/slack-gateway.ts';
import { pathSafeCaseId } from '../../cases/case-id.ts';
import { deleteDeveloper, TemporalUnavailableError } from '../../privacy/delete-developer.ts';
import { notifyClosedCases } from '../../privacy/notify-closed-cases.ts';
import { bearerAuth } from '../auth.ts';
import type { ReadFunnelInForce } from '../../funnel/funnel-in-force.ts';
import { errorResponse } from './error-response.ts';

export interface DeveloperDeletionRouteOptions {
  pool: pg.Pool;
  temporal: Client;
  adminKeys: readonly string[];
  /** Set with SLACK_BOT_TOKEN: the messages of the cases a deletion closes say so. */
  slack?: { gateway: SlackGateway; publicUrl: string };
  /** The funnel in force, for those messages' stages. */
  funnel: ReadFunnelInForce;
}

/** `DELETE /v1/developers/:id`: the journey ends, the personal data goes, the anonymous metric rows stay; audited. */
export const developerDeletionRoute: FastifyPluginAsyncZod<DeveloperDeletionRouteOptions> = async (app, { pool, temporal, adminKeys, slack, funnel }) => {
  app.delete(
    '/v1/developers/:id',
    {
      onRequest: bearerAuth(adminKeys),
      schema: {
        summary:
          "Delete a developer: ends the journey and deletes its Temporal history, removes the personal data (email, time zone, raw user agents, free text, agents' notes), closes their open cases (outcome developer_deleted), keeps the anonymous metric rows; stores nothing more of theirs; audited",
        security: [{ bearer: [] }],
        params: z.object({ id: z.string().min(1).max(256) }),
        querystring: z.object({
          author: z
            .string()
            .max(200)
            .regex(/\S/, 'must name who deletes')
            .trim()
            .optional()
            .describe('who deletes (audited); default "admin", the name of the admin keys (the only keys this route takes)'),
          reason: z.string().max(1000).trim().optional(),
        }),
        response: {
          200: z.object({
            developerId: z.string(),
            deletedAt: z.string(),
            alreadyDeleted: z.boolean().describe('deleted before: nothing changed (the journey is ended again if it ran)'),
            redacted: z
              .object({ events: z.int(), emails: z.int(), handoffSteps: z.int(), notes: z.int(), nudgeDecisions: z.int() })
              .describe('rows whose personal data this request removed'),
            closedCases: z.array(z.string()).describe('their cases this request closed (outcome developer_deleted)'),
          }),
          400: errorResponse,
          401: errorResponse,
          404: errorResponse,
          503: errorResponse,
        },
      },
    },
    async (request, reply) => {
      // Only the admin keys reach this route, so the key's name is "admin".
      const author = request.query.author ?? 'admin';
      try {
        const result = await deleteDeveloper(pool, temporal, request.params.id, { ...request.query, author });
        if (!result) return reply.code(404).send({ errors: [{ path: 'id', message: `no developer ${request.params.id}` }] });
        if (slack) {
          // Best effort: the cases are closed whatever Slack says; a stale message only looks open.
          await notifyClosedCases(pool, slack.gateway, result.developerId, result.closedCases, author, { publicUrl: slack.publicUrl, funnelInForce: funnel }).catch(
            (error: unknown) => request.log.warn({ err: error, cases: result.closedCases.map((c) => c.id) }, 'slack messages of closed cases not updated'),
          );
        }
        return { ...result, closedCases: result.closedCases.map((c) => pathSafeCaseId(c.id)) };
      } catch (error) {
        if (!(error instanceof TemporalUnavailableError)) throw error;
        // The data is gone and the tombstone written; a retry ends the journey.
        return reply
          .code(503)
          .header('retry-after', '5')
          .send({ errors: [{ path: '', message: error.message }] });
      }
    },
  );
};
