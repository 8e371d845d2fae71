import type pg from 'pg';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { BANDS, BAND_STATUSES, MIN_BANDED_ELIGIBLE, REFERENCE_BANDS } from '../../metrics/conversion-bands.ts';
import { COUNTING_UNITS, developerFilter, metricsQuery, unitParam } from '../../metrics/metrics-query.ts';
import { HORIZONS, productionRate } from '../../metrics/production-rate.ts';
import { CONSECUTIVE_WINDOW_DAYS, defaultTransitions, funnelTransitionsProblem, stageConversion, transitionsParam } from '../../metrics/stage-conversion.ts';
import { MEDIAN_STABLE, TAIL_RISE, timeToFirstCall } from '../../metrics/time-to-first-call.ts';
import type { ReadFunnelInForce, StageRole } from '../../funnel/funnel-in-force.ts';
import { STAGE_ROLES, stageId } from '../../funnel/funnel-schema.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';

export interface MetricsRouteOptions {
  pool: pg.Pool;
  /** Admin keys and the read-only metrics keys (ONRAMP_METRICS_KEY). */
  readKeys: readonly string[];
  /** The funnel in force: its stages, their order and roles are what the metrics measure. */
  funnel: ReadFunnelInForce;
}

const cohort = z.string().describe('ISO-8601 signup week in UTC, e.g. 2026-W44 (ISO week-year: 2027-01-01 is in 2026-W53)');
const asOf = z.string().describe('the instant every figure is computed as of');
const percent = (what: string) => z.number().min(0).max(1).describe(what);
/** Set when the funnel in force names no stage with the role a figure measures to: the figures are empty, and this says why. */
export const warnings = z.array(z.string()).describe('why figures are empty: the funnel in force names no stage with the role they measure to; empty otherwise');
/** Which unit the figures count (the `unit` asked for). */
const unit = z.enum(COUNTING_UNITS).describe('what the figures count: developers, or accounts (organisations, and developers without one as their own)');
/** A count named after the unit: exactly one of the two is present. */
const unitCount = (what: string) => ({
  developers: z.int().optional().describe(`unit=developer: the developers ${what}`),
  accounts: z.int().optional().describe(`unit=organization: the accounts ${what} (organisations, and developers who signed up without one, each their own)`),
});
const unitQuery = metricsQuery.extend({ unit: unitParam });
/** The stage a figure measures to, by its role in the funnel in force. */
const roleStageSchema = (role: StageRole) =>
  z.object({ id: stageId, label: z.string() }).nullable().describe(`the stage measured to: the funnel's stage with role ${role}; null when it names none (see warnings)`);

const transitionFigures = z.object({
  from: stageId,
  to: stageId,
  windowDays: z.int(),
  eligible: z.int().describe('reached `from` as of asOf, less the excluded: the denominator'),
  converted: z.int().describe('of the eligible: reached `to` or any later stage no later than windowDays after reaching `from`'),
  rate: percent('converted / eligible').nullable().describe('converted / eligible; null when eligible is 0'),
  excluded: z.int().describe('reached `from`, not converted, window not yet elapsed at asOf: left out of the denominator'),
  band: z
    .enum(BANDS)
    .nullable()
    .describe(
      `the funnel reference model's benchmark band; null for a pair or window the table has no benchmark for, without a rate, or with fewer than ${MIN_BANDED_ELIGIBLE} eligible (see bandStatus)`,
    ),
  bandStatus: z
    .enum(BAND_STATUSES)
    .describe(
      `why band is set or null: \`banded\`; \`no_benchmark\` (the table has no row for this pair and window); \`no_rate\` (no one eligible); \`n_too_small\` (fewer than ${MIN_BANDED_ELIGIBLE} eligible: the rate's 95 % interval is wider than a band)`,
    ),
  weakest: z.boolean().describe('the lowest band of the set (ties: the lowest rate)'),
});

const stageReach = z.array(
  z.object({
    stage: stageId,
    label: z.string().describe('how people see it: its label, or its id humanised'),
    reached: z.int().describe('reached this stage or a later one (in the funnel in force) by asOf'),
    dropped: z.int().describe("the previous stage's reached less this one's: the drop-off into it (0 for the first stage)"),
    fromPrevious: percent("reached / the previous stage's reached").nullable().describe('null for the first stage, or when the previous stage has none'),
    fromTop: percent('reached / counted').nullable().describe('null when nothing is counted'),
  }),
);
const conversionResponse = z.object({
  asOf,
  unit,
  funnel: z
    .object({
      version: z.int(),
      stages: z.array(z.object({ id: stageId, label: z.string().describe('how people see it: its label, or its id humanised'), role: z.enum(STAGE_ROLES).nullable() })),
    })
    .describe('the funnel in force the transitions were measured in: its version and its stages in order'),
  counted: z.int().describe('the units counted (signed up within the filters by asOf): the top of the funnel'),
  bandMinimumEligible: z.int().describe('the fewest eligible a transition needs before it is placed in a band (bandStatus `n_too_small` below it)'),
  reach: stageReach.describe('every stage of the funnel in force, in order: how many of the counted units got there'),
  overall: z.array(transitionFigures),
  cohorts: z.array(z.object({ cohort, ...unitCount('of the cohort'), transitions: z.array(transitionFigures), reach: stageReach.describe("the cohort's reach per stage") })),
});

const percentiles = z
  .object({ p25: z.number(), p50: z.number(), p75: z.number(), p90: z.number() })
  .nullable()
  .describe(
    'seconds from signup to the first_call stage over those who reached it (an account: from its first signup to its first member there); percentile_cont (linear interpolation); null when none',
  );
const ttfacFigures = {
  ...unitCount('who signed up (matching the filters, as of asOf)'),
  reached: z.int().describe('of them, reached the first_call stage as of asOf'),
  percentiles,
};

const ttfacResponse = z.object({
  asOf,
  unit,
  stage: roleStageSchema('first_call'),
  warnings,
  overall: z.object(ttfacFigures),
  cohorts: z.array(
    z.object({
      cohort,
      ...ttfacFigures,
      risingTail: z
        .boolean()
        .describe(
          `rising tail, stable median (the funnel reference model): p75 or p90 more than ${TAIL_RISE * 100} % above the previous cohort's (the nearest earlier cohort with percentiles) while p50 stayed within ±${MEDIAN_STABLE * 100} % of its p50`,
        ),
    }),
  ),
});

const horizon = (days: number) =>
  z
    .object({ reached: z.int(), rate: percent('reached / the cohort (developers or accounts)') })
    .nullable()
    .describe(
      `reached the production stage within ${days} days of signup; null when the cohort's last signup + ${days} days is after asOf, or the funnel names no production stage`,
    );

const productionResponse = z.object({
  asOf,
  unit,
  stage: roleStageSchema('production'),
  warnings,
  cohorts: z.array(z.object({ cohort, ...unitCount('of the cohort'), d30: horizon(30), d60: horizon(60), d90: horizon(90) })),
});

const benchmarked = REFERENCE_BANDS.map((t) => `${t.from}:${t.to}:${t.windowDays}d`).join(',');

/** Funnel metrics: conversion within windows, time to first call, production rate by cohort, in the funnel in force. */
export const metricsRoute: FastifyPluginAsyncZod<MetricsRouteOptions> = async (app, { pool, readKeys, funnel }) => {
  const security = [{ bearer: [] }];
  const onRequest = bearerAuth(readKeys);
  const errors = { 400: errorResponse, 401: errorResponse };

  app.get(
    '/v1/metrics/conversion',
    {
      onRequest,
      schema: {
        summary: 'Stage-to-stage conversion within windows, overall and per signup cohort, with the benchmark bands of the funnel reference model',
        security,
        querystring: unitQuery.extend({
          transitions: transitionsParam
            .optional()
            .describe(
              `from:to:<days>d, comma-separated: stages of the funnel in force, \`to\` after \`from\` (400 otherwise). Default: ${benchmarked} when the funnel holds those stages in that order (the shipped one does); else each pair of consecutive stages within ${CONSECUTIVE_WINDOW_DAYS}d`,
            ),
        }),
        response: { 200: conversionResponse, ...errors },
      },
    },
    async (request, reply) => {
      const inForce = await funnel();
      const transitions = request.query.transitions ?? defaultTransitions(inForce.document);
      const problem = funnelTransitionsProblem(transitions, inForce.document);
      if (problem !== undefined) return reply.code(400).send({ errors: [{ path: 'transitions', message: problem }] });
      return stageConversion(pool, developerFilter(request.query), request.query.unit, inForce, transitions);
    },
  );

  app.get(
    '/v1/metrics/ttfac',
    {
      onRequest,
      schema: {
        summary: "Time to first API call (to the funnel's first_call stage): p25/p50/p75/p90 (seconds) per signup cohort and overall",
        security,
        querystring: unitQuery,
        response: { 200: ttfacResponse, ...errors },
      },
    },
    async (request) => timeToFirstCall(pool, developerFilter(request.query), request.query.unit, await funnel()),
  );

  app.get(
    '/v1/metrics/production',
    {
      onRequest,
      schema: {
        summary: `Production deployment rate (the funnel's production stage) ${HORIZONS.join('/')} days after signup, per signup cohort`,
        security,
        querystring: unitQuery,
        response: { 200: productionResponse, ...errors },
      },
    },
    async (request) => productionRate(pool, developerFilter(request.query), request.query.unit, await funnel()),
  );
};
