import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type pg from 'pg';
import { z } from 'zod';
import type { SourceStats } from '../../sources/source-stats.ts';
import { unattributedBacklog } from '../../sources/unattributed-backlog.ts';
import { bearerAuth } from '../auth.ts';

export interface SourcesRouteOptions {
  stats: SourceStats;
  adminKeys: readonly string[];
  pool: pg.Pool;
}

const seconds = (what: string) => z.number().nullable().describe(what);
const lateness = z.object({
  events: z.int().describe('events stored in the window'),
  p50Seconds: seconds('median lateness: the upper bound of its bucket (10 s, 1 min, 5 min, 15 min, 1 h, 6 h, 1 d, 7 d), at most the max; null without events'),
  p95Seconds: seconds('95th percentile lateness, bounded the same way'),
  maxSeconds: seconds('the latest event of the window'),
});

const sourceStat = z.object({
  source: z
    .string()
    .describe(
      'the ingest route: events (POST /v1/events), import (POST /v1/import), segment, kong, aws-firehose, clerk, auth0, ses, sendgrid (/v1/sources/…), middleware (POST /v1/events with X-Onramp-Source: middleware, as @onramp/node sends)',
    ),
  lastReceivedAt: z.string().nullable().describe('the last request, accepted or refused'),
  accepted: z.int().describe('events stored'),
  duplicates: z.int().describe('events whose id was already stored'),
  rejected: z.int().describe('events in refused requests (a request whose body was not read counts 1)'),
  lastError: z.object({ message: z.string().describe('the status and the first error'), at: z.string() }).nullable(),
  unused: z.boolean().describe('never received a request (never silent)'),
  silent: z.boolean().describe('received requests, then none for longer than silentAfterSeconds'),
  silentForSeconds: z.int().nullable().describe('how long since the last request, when silent'),
  silentAfterSeconds: z.number().nullable().describe('its threshold (ONRAMP_SOURCE_SILENT_AFTER); null: never silent (import unless named)'),
  lateness: z
    .object({
      lateByDesign: z.boolean().describe('import: a backfill of history, late by design (no alarm)'),
      lastHour: lateness.describe('the 5-minute windows begun in the last hour'),
      last24Hours: lateness.describe('the 5-minute windows begun in the last 24 hours'),
    })
    .describe('how late events arrived: received time − occurredAt, every event of a stored request'),
});

const unattributed = z
  .object({
    waiting: z.int().describe('API requests and custom events whose key is not mapped to a developer yet'),
    oldestReceivedAt: z.string().nullable().describe('when the oldest of them arrived'),
    oldestAgeSeconds: z.int().nullable().describe('its age'),
  })
  .describe("the unattributed backlog: attributed when their key's api_key.created arrives");

/** `GET /v1/sources` (admin key): what each ingest source received, and how well (docs/guides/platform-engineer.md#watching-data-quality). */
export const sourcesRoute: FastifyPluginAsyncZod<SourcesRouteOptions> = async (app, { stats, adminKeys, pool }) => {
  app.get(
    '/v1/sources',
    {
      onRequest: bearerAuth(adminKeys),
      schema: {
        summary: 'Per ingest source: last received, events accepted, duplicate and rejected, the last error, silence, lateness; the unattributed backlog',
        response: { 200: z.object({ sources: z.array(sourceStat), unattributed }) },
      },
    },
    async () => ({ sources: await stats.list(), unattributed: await unattributedBacklog(pool, stats.clock()) }),
  );
};
