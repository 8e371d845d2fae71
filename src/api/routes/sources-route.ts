import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SourceStats } from '../../sources/source-stats.ts';
import { bearerAuth } from '../auth.ts';

export interface SourcesRouteOptions {
  stats: SourceStats;
  adminKeys: readonly string[];
}

const sourceStat = z.object({
  source: z
    .string()
    .describe(
      'the ingest route: events (POST /v1/events), import (POST /v1/import), segment, kong, aws-firehose, clerk, auth0 (/v1/sources/…), middleware (POST /v1/events with X-Onramp-Source: middleware, as @onramp/node sends)',
    ),
  lastReceivedAt: z.string().nullable().describe('the last request, accepted or refused'),
  accepted: z.int().describe('events stored'),
  duplicates: z.int().describe('events whose id was already stored'),
  rejected: z.int().describe('events in refused requests (a request whose body was not read counts 1)'),
  lastError: z.object({ message: z.string().describe('the status and the first error'), at: z.string() }).nullable(),
});

/** `GET /v1/sources` (admin key): what each ingest source received. */
export const sourcesRoute: FastifyPluginAsyncZod<SourcesRouteOptions> = async (app, { stats, adminKeys }) => {
  app.get(
    '/v1/sources',
    {
      onRequest: bearerAuth(adminKeys),
      schema: {
        summary: 'Per ingest source: last received, events accepted, duplicate and rejected, the last error',
        response: { 200: z.object({ sources: z.array(sourceStat) }) },
      },
    },
    async () => ({ sources: await stats.list() }),
  );
};
