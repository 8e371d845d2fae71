import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isoInstant } from '../../events/instant.ts';
import { allocationHistory } from '../../metrics/experiment-allocations.ts';
import { experimentDefinitions, experimentReport, HOLDOUT_ARM, MIN_EXPECTED_COUNT, MIN_MEASURED_PER_ARM, type ExperimentDefinition } from '../../metrics/experiment-report.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';
import type { MetricsRouteOptions } from './metrics-route.ts';

const interval = z.object({ low: z.number(), high: z.number() }).nullable().describe('Wilson 95 % interval of the rate; null when measured is 0');
const arm = z.object({
  arm: z.string().describe(`a variant id, or \`${HOLDOUT_ARM}\` (the policy holdout: the control, sent nothing)`),
  variant: z
    .object({ id: z.string(), template: z.string().nullable(), after: z.string().nullable().describe("its delay; null: the rule's"), weight: z.number() })
    .nullable()
    .describe('the variant as the rules define it; null for the holdout and for a variant no longer defined'),
  assigned: z.int().describe('developers whose first decision for the experiment put them in this arm (as of asOf)'),
  sent: z.int().describe('of them, sent the nudge'),
  measured: z.int().describe('of them, window closed at asOf: the denominator'),
  pending: z.int().describe('of them, window still open at asOf: left out'),
  converted: z.int().describe('of the measured, reached the goal stage no later than the window after assignment'),
  rate: z.number().min(0).max(1).nullable().describe('converted / measured; null when measured is 0'),
  ci95: interval,
  comparison: z
    .object({
      against: z.string().describe('the baseline arm'),
      difference: z.number().nullable().describe('rate − the baseline rate'),
      z: z.number().nullable(),
      pValue: z.number().nullable().describe('two-sided, two-proportion z-test with the pooled rate; null without variance'),
      significant: z.boolean().describe('pValue < 0.05 and no warning'),
      warning: z
        .string()
        .nullable()
        .describe(
          `the sample is too small to trust the test: fewer than ${MIN_MEASURED_PER_ARM} measured, or fewer than ${MIN_EXPECTED_COUNT} expected conversions (or non-conversions), in either arm`,
        ),
    })
    .nullable()
    .describe('against the baseline; null for the baseline itself'),
});
const experimentResponse = z.object({
  id: z.string(),
  ruleId: z.string(),
  goal: z.string().describe('the stage that counts as converted'),
  window: z.string(),
  inForce: z.boolean().describe('defined by the rules in force (false: ended, e.g. a winner promoted)'),
  rulesVersion: z.int().describe('the newest rules version that defines it (the definition reported)'),
  baseline: z.string().describe(`the arm the others are tested against: \`${HOLDOUT_ARM}\` when it has measured developers, else the first variant`),
  arms: z.array(arm),
  warning: z.string().nullable().describe("set while any comparison's sample is too small"),
  adaptive: z
    .object({ floor: z.number(), every: z.string(), minPerVariant: z.int() })
    .nullable()
    .describe('adaptive allocation as the definition asks for it; null: the weights stand'),
  allocations: z
    .array(
      z.object({
        rulesVersion: z.int().describe('the rules version whose definition was allocated'),
        asOf: z.string().describe('the instant the data was read as of (the start of the `every` period)'),
        weights: z.record(z.string(), z.number()).describe('variant id → share of the new developers drawn'),
        arms: z.array(
          z.object({
            variant: z.string(),
            measured: z.int(),
            converted: z.int(),
            pBest: z.number().nullable().describe("probability of converting best, given the data; null: the document's weights stand"),
          }),
        ),
        reason: z.string(),
        recordedAt: z.string(),
      }),
    )
    .describe("every change of the adaptive allocation, newest first (the first is in force), including a return to the document's weights; empty while they have always stood"),
});
const asOfQuery = z.object({ asOf: isoInstant.optional().describe('compute every figure as of this instant (default: now)') });

/** Experiment results: per arm, assignment, sends, conversion to the goal, interval and test. */
export const experimentMetricsRoute: FastifyPluginAsyncZod<MetricsRouteOptions> = async (app, { pool, readKeys, funnel }) => {
  const security = [{ bearer: [] }];
  const onRequest = bearerAuth(readKeys);
  const asOf = (query: z.infer<typeof asOfQuery>) => (query.asOf ? new Date(query.asOf) : new Date());
  /** The report, with the adaptive allocation's history recorded up to `at`. */
  const report = async (definition: ExperimentDefinition, funnelVersion: number, at: Date) => ({
    ...(await experimentReport(pool, definition, funnelVersion, at)),
    adaptive: definition.experiment.adaptive ?? null,
    allocations: await allocationHistory(pool, definition.experiment.id, at),
  });

  app.get(
    '/v1/metrics/experiments',
    {
      onRequest,
      schema: {
        summary: 'Every experiment the rules define or defined: per variant and the holdout, conversion to the goal with its interval and test, and its adaptive allocations',
        security,
        querystring: asOfQuery,
        response: { 200: z.object({ asOf: z.string(), experiments: z.array(experimentResponse) }), 400: errorResponse, 401: errorResponse },
      },
    },
    async (request) => {
      const at = asOf(request.query);
      const { version } = await funnel();
      const definitions = await experimentDefinitions(pool);
      const experiments = [];
      for (const definition of definitions) experiments.push(await report(definition, version, at));
      return { asOf: at.toISOString(), experiments };
    },
  );

  app.get(
    '/v1/metrics/experiments/:id',
    {
      onRequest,
      schema: {
        summary: 'One experiment: per variant and the holdout, conversion to the goal with its interval and test, and its adaptive allocations',
        security,
        params: z.object({ id: z.string().max(256).describe('the experiment id (`action.experiment.id`)') }),
        querystring: asOfQuery,
        response: { 200: experimentResponse.extend({ asOf: z.string() }), 400: errorResponse, 401: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) => {
      const definition = (await experimentDefinitions(pool)).find((d) => d.experiment.id === request.params.id);
      if (!definition) return reply.code(404).send({ errors: [{ path: 'id', message: `no experiment "${request.params.id}" in any rules version` }] });
      const at = asOf(request.query);
      return { asOf: at.toISOString(), ...(await report(definition, (await funnel()).version, at)) };
    },
  );
};
