import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type pg from 'pg';
import { z } from 'zod';
import { ALERT_KINDS } from '../../rules/alerts-schema.ts';
import { recentAlerts } from '../../alerts/recent-alerts.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';
import { versionedConfigRoute } from './versioned-config-route.ts';

/**
 * The alerts document: `/v1/alerts` (read, PUT a new version), `/validate`, `/history`,
 * `/versions/:version`, and `/v1/schemas/alerts`; admin key only. Options: `{ store: AlertsStore, adminKeys }`.
 */
export const alertsConfigRoute = versionedConfigRoute({
  path: '/v1/alerts',
  schemaPath: '/v1/schemas/alerts',
  what: 'alerts',
  file: 'config/alerts.yaml',
  examplePath: 'ttfacTail.riseAbove',
});

export interface FiredAlertsRouteOptions {
  pool: pg.Pool;
  /** The metrics keys and the admin keys: who may read. */
  readKeys: readonly string[];
}

const firedAlert = z.object({
  id: z.string(),
  kind: z.enum(ALERT_KINDS),
  subject: z.string().describe('what it is about: a transition (`account_created:first_api_call:7d`), `p90`, an endpoint, a source'),
  period: z.string().describe("which occurrence: the signup week (`2026-W49`), a silent source's last request; '' for an error spike"),
  summary: z.string().describe('what was measured, in a sentence (the Slack message)'),
  detail: z.record(z.string(), z.unknown()).describe('the figures measured'),
  link: z.string().describe('the dashboard view that shows it'),
  firedAt: z.string().describe('ISO-8601 instant'),
  clearedAt: z.string().nullable().describe('when a later evaluation no longer saw it; null: still open'),
  slack: z
    .object({
      channel: z.string(),
      ts: z.string().nullable().describe('null until posted'),
      error: z.string().nullable().describe('Slack refused the message for good (its error code: `channel_not_found`, `invalid_auth` …): it is not posted again; null otherwise'),
    })
    .nullable()
    .describe('null: no message (no channel or no Slack)'),
});

/** `GET /v1/alerts/fired`: the alerts fired, newest first. */
export const firedAlertsRoute: FastifyPluginAsyncZod<FiredAlertsRouteOptions> = async (app, { pool, readKeys }) => {
  app.get(
    '/v1/alerts/fired',
    {
      onRequest: bearerAuth(readKeys),
      schema: {
        summary: 'The alerts fired, newest first (open and cleared)',
        security: [{ bearer: [] }],
        querystring: z.strictObject({
          open: z
            .enum(['true', 'false'])
            .optional()
            .transform((v) => (v === undefined ? undefined : v === 'true'))
            .describe('true: only the open ones; false: only the cleared'),
          kind: z.enum(ALERT_KINDS).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
        }),
        response: { 200: z.object({ alerts: z.array(firedAlert) }), 400: errorResponse, 401: errorResponse },
      },
    },
    async (request) => ({ alerts: await recentAlerts(pool, request.query) }),
  );
};
