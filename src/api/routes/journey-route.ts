import type { Client } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type pg from 'pg';
import { z } from 'zod';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import { bearerAuth, type AcceptedKeys } from '../auth.ts';
import { journeyResponse } from '../journey-schema.ts';
import { followedFunnel } from '../../funnel/followed-funnel.ts';
import type { ReadFunnelInForce } from '../../funnel/funnel-in-force.ts';
import { readJourney } from '../read-journey.ts';
import { errorResponse } from './error-response.ts';

export interface JourneyRouteOptions {
  prisma: PrismaClient;
  pool: pg.Pool;
  temporal: Client;
  /** The funnel in force: a journey that has recorded no stage yet is shown in it. */
  funnel: ReadFunnelInForce;
  readKeys: readonly string[] | AcceptedKeys;
}

export const journeyRoute: FastifyPluginAsyncZod<JourneyRouteOptions> = async (app, { prisma, pool, temporal, funnel, readKeys }) => {
  app.get(
    '/v1/developers/:id/journey',
    {
      onRequest: bearerAuth(readKeys),
      schema: {
        summary: "One developer's journey: stages by event time, transitions, profile and API usage",
        params: z.object({ id: z.string().min(1).max(256) }),
        response: { 200: journeyResponse, 401: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) => {
      const journey = await readJourney({ prisma, pool }, temporal, await followedFunnel(pool, request.params.id, funnel), request.params.id);
      if (!journey) return reply.code(404).send({ errors: [{ path: 'id', message: `no developer ${request.params.id}` }] });
      return journey;
    },
  );
};
