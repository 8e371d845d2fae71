import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import { isoInstant } from '../../events/instant.ts';
import { bearerAuth, type AcceptedKeys } from '../auth.ts';
import { messagesResponse, readMessages } from '../read-messages.ts';
import { errorResponse } from './error-response.ts';

export interface MessagesRouteOptions {
  prisma: PrismaClient;
  readKeys: readonly string[] | AcceptedKeys;
  adminKeys: readonly string[];
}

const outboxEmail = z.object({
  id: z.string(),
  developerId: z.string(),
  ruleId: z.string(),
  ruleVersion: z.int(),
  template: z.string(),
  templateVersion: z.int().nullable().describe('the templates version it was rendered from (null: sent before templates were versioned)'),
  to: z.string(),
  subject: z.string(),
  text: z.string(),
  html: z.string(),
  transport: z.string(),
  status: z.string(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
});

export const messagesRoute: FastifyPluginAsyncZod<MessagesRouteOptions> = async (app, { prisma, readKeys, adminKeys }) => {
  app.get(
    '/v1/developers/:id/messages',
    {
      onRequest: bearerAuth(readKeys),
      schema: {
        summary: "A developer's nudge decisions (sent, scheduled, cancelled, skipped with the reason) and the emails sent",
        params: z.object({ id: z.string().min(1).max(256) }),
        response: { 200: messagesResponse, 401: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!(await prisma.developer.findUnique({ where: { id }, select: { id: true } }))) {
        return reply.code(404).send({ errors: [{ path: 'id', message: `no developer ${id}` }] });
      }
      return { developerId: id, messages: await readMessages(prisma, id) };
    },
  );

  // The embedded default has no mail relay: this is where its mail can be read. Contact data, so admin only.
  app.get(
    '/v1/emails',
    {
      onRequest: bearerAuth(adminKeys),
      schema: {
        summary: 'Emails sent or put in the local outbox, newest first; with `since`, those created at or after it, oldest first (admin)',
        querystring: z.object({
          developerId: z.string().min(1).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
          since: isoInstant.optional().describe('follow the outbox: pass the last createdAt seen (ids seen at that instant come again)'),
        }),
        response: { 200: z.object({ emails: z.array(outboxEmail) }), 401: errorResponse },
      },
    },
    async (request) => {
      const { developerId, limit, since } = request.query;
      const emails = await prisma.email.findMany({
        where: { ...(developerId ? { developerId } : {}), ...(since ? { createdAt: { gte: new Date(since) } } : {}) },
        orderBy: since ? [{ createdAt: 'asc' }, { id: 'asc' }] : [{ createdAt: 'desc' }, { id: 'asc' }],
        take: limit,
      });
      return {
        emails: emails.map((e) => ({
          id: e.id,
          developerId: e.developerId,
          ruleId: e.ruleId,
          ruleVersion: e.ruleVersion,
          template: e.template,
          templateVersion: e.templateVersion,
          to: e.toAddress,
          subject: e.subject,
          text: e.text,
          html: e.html,
          transport: e.transport,
          status: e.status,
          createdAt: e.createdAt.toISOString(),
          sentAt: e.sentAt?.toISOString() ?? null,
        })),
      };
    },
  );
};
