import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DEPTH_BUCKETS, endpointDepth } from '../../metrics/endpoint-depth.ts';
import { ERROR_CLASSES } from '../../events/error-diagnosis.ts';
import { DEFAULT_ENDPOINT_LIMIT, firstSessionErrors } from '../../metrics/first-session-errors.ts';
import { developerFilter, developerUnitOnly, metricsQuery } from '../../metrics/metrics-query.ts';
import { sdkShare } from '../../metrics/sdk-share.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';
import { warnings, type MetricsRouteOptions } from './metrics-route.ts';

const cohort = z.string().describe('ISO-8601 signup week in UTC, e.g. 2026-W44 (ISO week-year: 2027-01-01 is in 2026-W53)');
const asOf = z.string().describe('the instant every figure is computed as of');
const rate = (what: string) => z.number().min(0).max(1).nullable().describe(`${what}; null when the denominator is 0`);

const share = (what: string) => z.object({ sdk: z.int(), raw: z.int(), sdkShare: rate('sdk / (sdk + raw)') }).describe(what);
const sdkFigures = {
  developers: share('developers with at least one api.request as of asOf: SDK when most of their requests (a strict majority) came through an SDK, else raw HTTP'),
  requests: share("their api.request events as of asOf, any status, by the user agent's classification at ingest"),
};
const sdkResponse = z.object({ asOf, overall: z.object(sdkFigures), cohorts: z.array(z.object({ cohort, ...sdkFigures })) });

const depthFigures = {
  developers: z.int().describe('reached the first_call stage as of asOf, its 24 h elapsed: the developers counted'),
  excluded: z.int().describe('reached the first_call stage less than 24 h before asOf (first session not over): left out'),
  buckets: z.array(
    z.object({
      bucket: z.enum(DEPTH_BUCKETS),
      developers: z.int(),
      production: z.object({
        reached: z.int().describe('reached the production stage as of asOf'),
        rate: rate('reached / developers').describe('reached / developers; null when developers is 0 or the funnel names no production stage'),
      }),
    }),
  ),
  distribution: z.array(z.object({ endpoints: z.int().describe('distinct endpoints with a 2xx call within 24 h of reaching the first_call stage'), developers: z.int() })),
};
const depthResponse = z.object({ asOf, warnings, overall: z.object(depthFigures), cohorts: z.array(z.object({ cohort, ...depthFigures })) });

const errorFigures = {
  developers: z.int().describe('developers with first-session requests'),
  requests: z.int().describe('first-session requests (the 24 h from the first api.request), any status'),
  errors: z.object({ requests: z.int().describe('answered 4xx or 5xx'), rate: rate('errors / requests') }),
  statuses: z.array(
    z.object({
      status: z.enum(ERROR_CLASSES),
      requests: z.int(),
      rate: rate('requests with this status / first-session requests'),
      diagnosis: z.string().nullable().describe("the funnel reference model's diagnosis; null for 5xx"),
    }),
  ),
};
const errorsResponse = z.object({
  asOf,
  overall: z.object(errorFigures),
  cohorts: z.array(z.object({ cohort, ...errorFigures })),
  endpoints: z
    .array(z.object({ endpoint: z.string(), ...errorFigures }))
    .describe('endpoints with at least one first-session error, most errors first (then the higher rate, then by name)'),
});

/** Usage metrics from api.request events: SDK share, first-session depth, first-session errors. */
export const usageMetricsRoute: FastifyPluginAsyncZod<MetricsRouteOptions> = async (app, { pool, readKeys, funnel }) => {
  const security = [{ bearer: [] }];
  const onRequest = bearerAuth(readKeys);
  const errors = { 400: errorResponse, 401: errorResponse };

  app.get(
    '/v1/metrics/sdk',
    {
      onRequest,
      schema: {
        summary: 'SDK vs raw HTTP share of developers and of requests, per signup cohort and overall',
        security,
        querystring: metricsQuery.extend({ unit: developerUnitOnly }),
        response: { 200: sdkResponse, ...errors },
      },
    },
    async (request) => sdkShare(pool, developerFilter(request.query)),
  );

  app.get(
    '/v1/metrics/depth',
    {
      onRequest,
      schema: {
        summary: "First-session API depth (distinct endpoints called successfully within 24 h of the funnel's first_call stage) and production rate by depth bucket",
        security,
        querystring: metricsQuery.extend({ unit: developerUnitOnly }),
        response: { 200: depthResponse, ...errors },
      },
    },
    async (request) => endpointDepth(pool, developerFilter(request.query), await funnel()),
  );

  app.get(
    '/v1/metrics/errors',
    {
      onRequest,
      schema: {
        summary: "First-session (24 h) error rates by status (401/400/429/5xx) and by endpoint, with the funnel reference model's diagnosis",
        security,
        querystring: metricsQuery.extend({
          unit: developerUnitOnly,
          limit: z.coerce.number().int().min(1).max(200).default(DEFAULT_ENDPOINT_LIMIT).describe(`endpoints listed, at most (default ${DEFAULT_ENDPOINT_LIMIT})`),
        }),
        response: { 200: errorsResponse, ...errors },
      },
    },
    async (request) => firstSessionErrors(pool, developerFilter(request.query), request.query.limit),
  );
};
