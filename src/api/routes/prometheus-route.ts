import type { FastifyPluginAsync } from 'fastify';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { z } from 'zod';
import type { ReadFunnelInForce } from '../../funnel/funnel-in-force.ts';
import { databaseRegistry } from '../../metrics/database-metrics.ts';
import { processRegistry } from '../../metrics/process-metrics.ts';
import type { SourceStats } from '../../sources/source-stats.ts';
import { unattributedBacklog } from '../../sources/unattributed-backlog.ts';
import { bearerAuth } from '../auth.ts';

export interface PrometheusRouteOptions {
  pool: pg.Pool;
  /** Keys a scraper may present (the admin key, ONRAMP_METRICS_KEY). */
  keys: readonly string[];
  /** The funnel in force: every stage of it has a transitions series. */
  funnel: ReadFunnelInForce;
  /** The sources' data quality: silent sources, the last request of each. */
  sources: SourceStats;
}

/** `GET /metrics`: Prometheus text format, this process's counters and the database's totals. */
export const prometheusRoute: FastifyPluginAsync<PrometheusRouteOptions> = async (app, { pool, keys, funnel, sources }) => {
  const dataQuality = { sources: () => sources.list(), unattributed: () => unattributedBacklog(pool, sources.clock()) };
  const registry = Registry.merge([processRegistry, databaseRegistry(pool, funnel, dataQuality)]);
  app.get(
    '/metrics',
    {
      onRequest: bearerAuth(keys),
      schema: {
        summary: 'Prometheus metrics (text exposition format)',
        security: [{ bearer: [] }],
        response: { 200: { description: 'prom-client text format', content: { 'text/plain': { schema: z.string() } } } },
      },
    },
    async (_request, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );
};
