import type pg from 'pg';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { BANDS } from '../../metrics/conversion-bands.ts';
import { developerFilter, metricsQuery } from '../../metrics/metrics-query.ts';
import { HORIZONS, productionRate } from '../../metrics/production-rate.ts';
import { DEFAULT_TRANSITIONS, stageConversion, transitionsParam } from '../../metrics/stage-conversion.ts';
import { MEDIAN_STABLE, TAIL_RISE, timeToFirstCall } from '../../metrics/time-to-first-call.ts';
import { stageId } from '../../funnel/funnel-schema.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';

export interface MetricsRouteOptions {
  pool: pg.Pool;
  /** Admin keys and the read-only metrics keys (ONRAMP_METRICS_KEY). */
  readKeys: readonly string[];
}

const cohort = z.string().describe('ISO-8601 signup week in UTC, e.g. 2026-W44 (ISO week-year: 2027-01-01 is in 2026-W53)');
const asOf = z.string().describe('the instant every figure is computed as of');
const percent = (what: string) => z.number().min(0).max(1).describe(what);

const transitionFigures = z.object({
  from: stageId,
  to: stageId,
  windowDays: z.int(),
  eligible: z.int().describe('reached `from` as of asOf, less the excluded: the denominator'),
  converted: z.int().describe('of the eligible: reached `to` or any later stage no later than windowDays after reaching `from`'),
  rate: percent('converted / eligible').nullable().describe('converted / eligible; null when eligible is 0'),
  excluded: z.int().describe('reached `from`, not converted, window not yet elapsed at asOf: left out of the denominator'),
  band: z.enum(BANDS).nullable().describe("the funnel reference model's benchmark band; null for a pair or window the table has no benchmark for, or without a rate"),
  weakest: z.boolean().describe('the lowest band of the set (ties: the lowest rate)'),
});

const conversionResponse = z.object({
  asOf,
  overall: z.array(transitionFigures),
  cohorts: z.array(z.object({ cohort, developers: z.int(), transitions: z.array(transitionFigures) })),
});

const percentiles = z
  .object({ p25: z.number(), p50: z.number(), p75: z.number(), p90: z.number() })
  .nullable()
  .describe('seconds from account_created to first_api_call over the developers who reached it; percentile_cont (linear interpolation); null when none');
const ttfacFigures = {
  developers: z.int().describe('signed up (matching the filters, as of asOf)'),
  reached: z.int().describe('of them, reached first_api_call as of asOf'),
  percentiles,
};

const ttfacResponse = z.object({
  asOf,
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
    .object({ reached: z.int(), rate: percent('reached / developers') })
    .nullable()
    .describe(`production_deployment within ${days} days of signup; null when the cohort's last signup + ${days} days is after asOf`);

const productionResponse = z.object({
  asOf,
  cohorts: z.array(z.object({ cohort, developers: z.int(), d30: horizon(30), d60: horizon(60), d90: horizon(90) })),
});

const defaultTransitions = DEFAULT_TRANSITIONS.map((t) => `${t.from}:${t.to}:${t.windowDays}d`).join(',');

/** Funnel metrics: conversion within windows, time to first call, production rate by cohort. */
export const metricsRoute: FastifyPluginAsyncZod<MetricsRouteOptions> = async (app, { pool, readKeys }) => {
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
        querystring: metricsQuery.extend({
          transitions: transitionsParam.optional().describe(`from:to:<days>d, comma-separated (default ${defaultTransitions})`),
        }),
        response: { 200: conversionResponse, ...errors },
      },
    },
    async (request) => stageConversion(pool, developerFilter(request.query), request.query.transitions ?? DEFAULT_TRANSITIONS),
  );

  app.get(
    '/v1/metrics/ttfac',
    {
      onRequest,
      schema: {
        summary: 'Time to first API call: p25/p50/p75/p90 (seconds) per signup cohort and overall',
        security,
        querystring: metricsQuery,
        response: { 200: ttfacResponse, ...errors },
      },
    },
    async (request) => timeToFirstCall(pool, developerFilter(request.query)),
  );

  app.get(
    '/v1/metrics/production',
    {
      onRequest,
      schema: {
        summary: `Production deployment rate ${HORIZONS.join('/')} days after signup, per signup cohort`,
        security,
        querystring: metricsQuery,
        response: { 200: productionResponse, ...errors },
      },
    },
    async (request) => productionRate(pool, developerFilter(request.query)),
  );
};
