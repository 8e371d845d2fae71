import type { Client } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { EventIngestor } from '../../ingest/event-ingestor.ts';

export interface HealthRouteOptions {
  /** Its write-path probe is what "the database is reachable" means here. */
  ingestor: EventIngestor;
  temporal: Client;
}

const withTimeout = <T>(promise: Promise<T>, ms: number) => Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

// A gRPC deadline, not a race: the client would otherwise keep retrying in the background.
const temporalReachable = (temporal: Client) =>
  temporal.connection
    .withDeadline(Date.now() + 2000, () => temporal.workflowService.getSystemInfo({}))
    .then(
      () => true,
      () => false,
    );

export const healthRoute: FastifyPluginAsyncZod<HealthRouteOptions> = async (app, { ingestor, temporal }) => {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Ready when the API can store events (the ingest statement runs on a pooled connection) and Temporal is reachable',
        response: {
          200: z.object({ status: z.literal('ok') }),
          503: z.object({ status: z.literal('unavailable'), unreachable: z.array(z.enum(['database', 'temporal'])) }),
        },
      },
    },
    async (_request, reply) => {
      const [database, temporalOk] = await Promise.all([
        withTimeout(ingestor.probe(), 2000).then(
          () => true,
          () => false,
        ),
        temporalReachable(temporal),
      ]);
      const unreachable = [...(database ? [] : ['database' as const]), ...(temporalOk ? [] : ['temporal' as const])];
      if (unreachable.length > 0) return reply.code(503).send({ status: 'unavailable', unreachable });
      return reply.code(200).send({ status: 'ok' });
    },
  );
};
