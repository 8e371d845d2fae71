import type pg from 'pg';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { FunnelDocument } from '../../funnel/funnel-schema.ts';
import type { RulesDocument } from '../../rules/rules-schema.ts';
import { eventTypes } from '../../ingest/event-type-stats.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';

export interface EventTypesRouteOptions {
  pool: pg.Pool;
  adminKeys: readonly string[];
  /** The funnel in force, whose stages' evidence `usedBy` names. */
  funnel: () => Promise<FunnelDocument>;
  /** The rules in force (none stored: undefined), whose rules waiting for an event `awaitedBy` names. */
  rules: () => Promise<RulesDocument | undefined>;
}

const eventType = z.object({
  type: z.string(),
  builtIn: z.boolean().describe('defined by Onramp (docs/reference/events.md); false: a custom event type'),
  count: z.int().describe('events of this type stored'),
  firstSeenAt: z.string().nullable().describe('the earliest occurredAt of them; null when none'),
  lastSeenAt: z.string().nullable().describe('the latest occurredAt of them; null when none'),
  usedBy: z.array(z.string()).describe("ids of the funnel's stages whose evidence uses this type (a `request:` condition uses api.request)"),
  awaitedBy: z.array(z.string()).describe('ids of the nudge rules in force that wait for this type (`when: {event, absentAfter}`)'),
});

/** `GET /v1/event-types`: the event vocabulary, what has arrived and what the funnel builds on; admin key only. */
export const eventTypesRoute: FastifyPluginAsyncZod<EventTypesRouteOptions> = async (app, { pool, adminKeys, funnel, rules }) => {
  app.get(
    '/v1/event-types',
    {
      onRequest: bearerAuth(adminKeys),
      schema: {
        summary:
          'Every event type stored, every built-in one and every one the funnel or the rules use: counts, first and last occurrence, the stages it proves, the rules that wait for it (sorted by type)',
        security: [{ bearer: [] }],
        response: { 200: z.object({ eventTypes: z.array(eventType) }), 401: errorResponse },
      },
    },
    async () => ({ eventTypes: await eventTypes(pool, await funnel(), await rules()) }),
  );
};
