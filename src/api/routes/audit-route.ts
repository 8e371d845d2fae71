import type pg from 'pg';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listAudit } from '../../audit/audit-log.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';

export interface AuditRouteOptions {
  pool: pg.Pool;
  adminKeys: readonly string[];
}

const entry = z.object({
  id: z.string(),
  at: z.string(),
  actor: z.string(),
  action: z.string().describe('rules.applied, escalation_policy.applied, ingest_key.created, ingest_key.revoked, agent_key.created, agent_key.revoked, …'),
  subject: z.string().describe('what it acted on: `rules v3`, an ingest key id'),
  reason: z.string().nullable(),
  diff: z.string().nullable().describe('unified diff, for config changes'),
  detail: z.record(z.string(), z.unknown()).nullable(),
});

/** The audit trail, newest first; admin key only. */
export const auditRoute: FastifyPluginAsyncZod<AuditRouteOptions> = async (app, { pool, adminKeys }) => {
  app.get(
    '/v1/audit',
    {
      onRequest: bearerAuth(adminKeys),
      schema: {
        summary: 'Who changed what, when and why: rules, escalation policy, ingest keys (newest first, paginated)',
        security: [{ bearer: [] }],
        querystring: z.object({
          action: z.string().max(100).optional(),
          subject: z.string().max(300).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
          cursor: z
            .string()
            .regex(/^\d{1,18}$/, 'not a cursor from a previous page')
            .optional(),
        }),
        response: {
          200: z.object({ entries: z.array(entry), nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last') }),
          400: errorResponse,
          401: errorResponse,
        },
      },
    },
    async (request) => {
      const { action, subject, limit, cursor } = request.query;
      return listAudit(pool, { ...(action ? { action } : {}), ...(subject ? { subject } : {}), ...(cursor ? { before: cursor } : {}), limit });
    },
  );
};
