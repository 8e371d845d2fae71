import type pg from 'pg';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { emailReport } from '../../metrics/email-report.ts';
import { stageIds, stageLabel, unknownStageProblem, type ReadFunnelInForce } from '../../funnel/funnel-in-force.ts';
import { stageId } from '../../funnel/funnel-schema.ts';
import { CASE_STATUSES, automationShare } from '../../metrics/automation-share.ts';
import { decodeCursor, decodeRiskCursor, listDevelopers, type DeveloperOrder } from '../../metrics/developer-list.ts';
import { MIN_AT_RISK, MIN_SEGMENT_DEVELOPERS, developerRisk } from '../../metrics/stagnation-risk.ts';
import { positions, risksById, type RiskModels } from '../../metrics/stagnation-risk-query.ts';
import { EFFECT_WINDOW_DAYS, SEGMENTS, emailEngagement } from '../../metrics/email-engagement.ts';
import { FRICTION_GROUPINGS, frictionReport } from '../../metrics/friction-report.ts';
import { DIAGNOSIS, ERROR_CLASSES } from '../../events/error-diagnosis.ts';
import { developerFilter, developerUnitOnly, metricsQuery } from '../../metrics/metrics-query.ts';
import { nudgePolicy } from '../../rules/rules-schema.ts';
import { DEFAULT_STALLS, frictionsOf } from '../../rules/escalation-policy-schema.ts';
import { EscalationPolicyStore } from '../../rules/escalation-policy-store.ts';
import { RuleStore } from '../../rules/rule-store.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';
import { cohortParam, pageParams } from './list-params.ts';

export interface OutcomeMetricsRouteOptions {
  pool: pg.Pool;
  /** Admin keys and the read-only metrics keys (ONRAMP_METRICS_KEY). */
  readKeys: readonly string[];
  /** The funnel in force: stage order, labels. */
  funnel: ReadFunnelInForce;
  /** The app's one cache of the stagnation risk's curves. */
  riskModels: RiskModels;
}

const cohort = z.string().describe('ISO-8601 signup week in UTC, e.g. 2026-W44');
const asOf = z.string().describe('the instant every figure is computed as of');
const share = z.number().min(0).max(1).nullable();

const segmentCounts = z.object(Object.fromEntries(SEGMENTS.map((s) => [s, z.int()])) as Record<(typeof SEGMENTS)[number], z.ZodInt>);
const group = z.object({
  eligible: z.int().describe('in the group, less the excluded'),
  converted: z.int().describe(`reached a later stage within ${EFFECT_WINDOW_DAYS} days of the group's first decision in the stage`),
  rate: share,
  excluded: z.int().describe('not converted, window still open at asOf'),
});
const stageEffects = z.array(
  z.object({
    stage: stageId,
    label: z.string().describe("the stage's label in the funnel in force (its id humanised when it has none)"),
    nudged: group,
    holdout: group,
    difference: z.number().nullable().describe('nudged.rate − holdout.rate'),
    ci95: z.object({ low: z.number(), high: z.number() }).nullable().describe('95 % Wald (normal approximation) interval of the difference; null when a group is empty'),
  }),
);
const engagementResponse = z.object({
  asOf,
  noEngagementAfterSends: z.int().describe("the running rules' policy (sends without an open that make a developer `none`)"),
  overall: z.object({ developers: z.int(), segments: segmentCounts }),
  cohorts: z.array(z.object({ cohort, developers: z.int(), segments: segmentCounts, nudgeEffect: stageEffects.describe("the cohort's nudge effect per stage (same window)") })),
  nudgeEffect: z.object({ windowDays: z.int(), stages: stageEffects }),
});

const shareFigures = {
  developers: z.int().describe('got a sent nudge or a handoff case'),
  automationResolved: z.int().describe('no handoff case; reached a stage later than a sent nudge’s stage after that nudge'),
  humanEscalated: z.int().describe('have a handoff case'),
  unresolved: z.int(),
  automationShare: share,
  humanShare: share,
};
const percentiles = z.object({ cases: z.int(), p50: z.number().nullable(), p90: z.number().nullable() }).describe('seconds, percentile_cont');
const automationResponse = z.object({
  asOf,
  overall: z.object(shareFigures),
  cohorts: z.array(z.object({ cohort, ...shareFigures })),
  handoffs: z.object({
    cases: z.int(),
    byStatus: z.object(Object.fromEntries(CASE_STATUSES.map((s) => [s, z.int()])) as Record<(typeof CASE_STATUSES)[number], z.ZodInt>),
    timeToClaim: percentiles,
    timeToResolve: percentiles,
    outcomes: z.array(z.object({ outcome: z.string().nullable(), cases: z.int() })),
    slaBreaches: z.object({ claim: z.int(), resolution: z.int() }).describe('cases with at least one breach of that SLA'),
  }),
});

const frictionCounts = {
  cases: z.int().describe('resolved cases'),
  frictions: z.record(z.string(), z.int()).describe('per friction id: the cases resolved with it (ids without cases are left out)'),
  unrecorded: z.int().describe('resolved without a friction'),
};
const frictionsResponse = z.object({
  asOf,
  groupBy: z.enum(FRICTION_GROUPINGS),
  frictions: z
    .array(
      z.object({
        id: z.string(),
        label: z.string(),
        cases: z.int(),
        firstSessionErrors: z
          .object(
            Object.fromEntries(ERROR_CLASSES.map((c) => [c, z.int().describe(DIAGNOSIS[c] ?? 'the API failed (no diagnosis)')])) as Record<
              (typeof ERROR_CLASSES)[number],
              z.ZodInt
            >,
          )
          .describe("of the friction's cases, those whose developer got this error class in their first session (24 h from their first API request)"),
      }),
    )
    .describe("the escalation policy's frictions in its order, then any other recorded (since removed from the policy)"),
  groups: z
    .array(z.object({ key: z.string().nullable().describe('the stage id, ISO week or channel (null: none known)'), label: z.string(), ...frictionCounts }))
    .describe('stages in funnel order, cohorts oldest first, channels by cases'),
  overall: z.object(frictionCounts),
});

const flag = z.enum(['true', 'false']);
const developersQuery = metricsQuery.extend({
  unit: developerUnitOnly,
  stage: stageId.optional().describe('current stage as of asOf: the latest in the funnel in force reached by then; a stage of the funnel in force (400 otherwise)'),
  reached: stageId
    .optional()
    .describe('reached this stage or a later one (in the funnel in force) by asOf: the developers behind a funnel bar; a stage of the funnel in force (400 otherwise)'),
  notReached: stageId
    .optional()
    .describe('reached neither this stage nor a later one by asOf; with `reached` (the previous stage): the drop-off into it; a stage of the funnel in force (400 otherwise)'),
  stalled: flag
    .optional()
    .describe(
      "stalled at asOf by one of the escalation policy's stall criteria in force, each with its own threshold: reached `since`, not `until` (or later in the funnel in force), its `after` (organizationAfter for organizations) elapsed",
    ),
  escalated: flag.optional().describe('has a handoff case opened by asOf'),
  engagement: z
    .enum(SEGMENTS)
    .optional()
    .describe("in this email engagement segment as of asOf (as GET /v1/metrics/engagement counts them, with the running rules' noEngagementAfterSends)"),
  cohort: cohortParam,
  sort: z
    .enum(['id', 'risk'])
    .default('id')
    .describe("`id` (default), or `risk`: riskiest first (the `risk` field), unavailable risks last, ties in id order; page on with that order's cursor"),
  ...pageParams,
});
const developersResponse = z.object({
  asOf,
  items: z.array(
    z.object({
      id: z.string(),
      stage: stageId.nullable(),
      stageLabel: z.string().nullable().describe("the stage's label in the funnel in force (its id humanised when it has none)"),
      stageAt: z.string().nullable(),
      cohort,
      accountType: z.string().nullable(),
      channel: z.string().nullable(),
      escalated: z.boolean(),
      lastHandoffStatus: z.enum(CASE_STATUSES).nullable().describe("the latest case's status as of asOf"),
      stall: z
        .object({
          id: z.string().describe("the stall criterion's id"),
          since: stageId,
          until: stageId,
          after: z.string().describe("the threshold that applied: the criterion's `after`, or its `organizationAfter` for an organization account"),
        })
        .nullable()
        .describe("the first of the escalation policy's stall criteria in force (in its order) the developer is stalled by at asOf; null when none"),
      risk: z.number().min(0).max(1).nullable().describe('the stagnation risk in the current stage as of asOf (GET /v1/developers/{id}/risk); null when unavailable'),
    }),
  ),
  nextCursor: z.string().nullable().describe('pass as `cursor` (with the same filters) for the next page; null on the last'),
});

const emailFigures = {
  sent: z.number().int(),
  opened: z.number().int().describe('by a person: machine opens (privacy proxies) left out'),
  clicked: z.number().int().describe('by a person: link scanners left out'),
  helpful: z
    .object({ yes: z.number().int(), no: z.number().int(), rate: z.number().nullable().describe('yes / (yes + no)') })
    .describe("answers to the footer's 'Was this email helpful?'"),
  converted: z.number().int().describe('reached a stage after the nudged one within windowDays of the send'),
  eligible: z.number().int().describe('sent, less those not converted whose window is still open'),
  conversionRate: z.number().nullable(),
};
const emailReportResponse = z.object({
  asOf: z.string(),
  windowDays: z.number().int(),
  templates: z.array(z.object({ template: z.string(), ...emailFigures })),
  rules: z.array(z.object({ ruleId: z.string(), template: z.string(), ...emailFigures })),
});

const riskResponse = z.object({
  asOf,
  id: z.string(),
  stage: stageId.nullable().describe('the current stage: the latest in the funnel in force reached by asOf; null when none'),
  stageLabel: z.string().nullable(),
  stageAt: z.string().nullable().describe('when the developer reached the current stage'),
  timeInStageSeconds: z.number().nullable().describe('t: asOf − stageAt'),
  windowSeconds: z
    .number()
    .nullable()
    .describe("W: the `after` of the escalation policy's first stall criterion starting from the stage, 14 days for a stage none starts from; null at the last stage"),
  risk: z
    .number()
    .min(0)
    .max(1)
    .nullable()
    .describe('P(not reaching a later stage within W | still in the stage after t) = S(t + W) / S(t), S the Kaplan–Meier curve; null when unavailable'),
  unavailable: z
    .enum(['no-stage', 'final-stage', 'too-few-at-risk'])
    .nullable()
    .describe(
      `why there is no risk: no stage reached, the funnel's last stage (no next stage), or fewer than ${MIN_AT_RISK} developers observed in the stage through t + W (no extrapolation beyond the cohort's follow-up)`,
    ),
  atRisk: z.int().nullable().describe('developers the curve used observed in the stage through t + W: what the estimate rests on'),
  curveDevelopers: z.int().nullable().describe('developers who entered the stage in the curve used'),
  curve: z
    .enum(['segment', 'overall'])
    .nullable()
    .describe(
      `the curve used: the developer's segment's (channel and account type; with at least ${MIN_SEGMENT_DEVELOPERS} developers who entered the stage and enough at risk) or the stage's overall one`,
    ),
  segment: z
    .object({ channel: z.string().nullable(), accountType: z.string().nullable() })
    .nullable()
    .describe("the segment whose curve was used; null for the stage's overall curve"),
});

const DEFAULT_NO_ENGAGEMENT = nudgePolicy.parse({}).noEngagementAfterSends;

/** Nudge and handoff outcomes, and the developers behind any figure. */
export const outcomeMetricsRoute: FastifyPluginAsyncZod<OutcomeMetricsRouteOptions> = async (app, { pool, readKeys, funnel, riskModels }) => {
  const security = [{ bearer: [] }];
  const onRequest = bearerAuth(readKeys);
  const errors = { 400: errorResponse, 401: errorResponse };
  const rules = new RuleStore(pool);
  const policies = new EscalationPolicyStore(pool);

  app.get(
    '/v1/metrics/engagement',
    {
      onRequest,
      schema: {
        summary: 'Email engagement segments per signup cohort, and the nudge effect (nudged vs holdout) per stage',
        security,
        querystring: metricsQuery.extend({ unit: developerUnitOnly }),
        response: { 200: engagementResponse, ...errors },
      },
    },
    async (request) => {
      const [active, inForce] = await Promise.all([rules.active(), funnel()]);
      return emailEngagement(pool, developerFilter(request.query), inForce, active?.document.policy.noEngagementAfterSends ?? DEFAULT_NO_ENGAGEMENT);
    },
  );

  app.get(
    '/v1/metrics/emails',
    {
      onRequest,
      schema: {
        summary: "Each template's and rule's emails: sent, opened, clicked, 'was this helpful?' answers, conversion to a later stage",
        security,
        querystring: metricsQuery.extend({ unit: developerUnitOnly }),
        response: { 200: emailReportResponse, ...errors },
      },
    },
    async (request) => emailReport(pool, developerFilter(request.query), await funnel()),
  );

  app.get(
    '/v1/metrics/automation',
    {
      onRequest,
      schema: {
        summary: 'Automation-resolved vs human-escalated developers; handoff time to claim and resolve, outcomes, SLA breaches, status',
        security,
        querystring: metricsQuery.extend({ unit: developerUnitOnly }),
        response: { 200: automationResponse, ...errors },
      },
    },
    async (request) => automationShare(pool, developerFilter(request.query), await funnel()),
  );

  app.get(
    '/v1/metrics/frictions',
    {
      onRequest,
      schema: {
        summary: 'Frictions agents recorded on resolved cases, by the stage the case opened in, by signup cohort or by channel; with first-session errors per friction',
        security,
        querystring: metricsQuery.extend({
          unit: developerUnitOnly,
          groupBy: z
            .enum(FRICTION_GROUPINGS)
            .default('stage')
            .describe('`stage` (the developer’s stage when the case opened), `cohort` (signup week) or `channel` (signup channel)'),
        }),
        response: { 200: frictionsResponse, ...errors },
      },
    },
    async (request) => {
      const [policy, inForce] = await Promise.all([policies.active(), funnel()]);
      return frictionReport(pool, developerFilter(request.query), request.query.groupBy, frictionsOf(policy?.document), inForce);
    },
  );

  app.get(
    '/v1/developers',
    {
      onRequest,
      schema: { summary: 'The developers behind a figure, in id order, paginated', security, querystring: developersQuery, response: { 200: developersResponse, ...errors } },
    },
    async (request, reply) => {
      const { stage, reached, notReached, stalled, escalated, engagement, cohort: week, sort, limit, cursor } = request.query;
      const [inForce, policy, running] = await Promise.all([funnel(), policies.active(), engagement ? rules.active() : undefined]);
      for (const [path, id] of Object.entries({ stage, reached, notReached })) {
        const unknown = id === undefined ? undefined : unknownStageProblem(inForce.document, id);
        if (unknown !== undefined) return reply.code(400).send({ errors: [{ path, message: unknown }] });
      }
      const riskAfter = sort === 'risk' && cursor !== undefined ? decodeRiskCursor(cursor) : undefined;
      if (sort === 'risk' && cursor !== undefined && riskAfter === undefined)
        return reply.code(400).send({ errors: [{ path: 'cursor', message: 'not a cursor from a previous page sorted by risk' }] });
      const filter = developerFilter(request.query);
      const stalls = policy?.document.criteria.stalls ?? DEFAULT_STALLS;
      // The curves once per request; every developer's position only to sort by risk.
      const [model, all] = await Promise.all([riskModels.asOf(filter.asOf, inForce, stalls), sort === 'risk' ? positions(pool, filter.asOf, inForce) : undefined]);
      const order: DeveloperOrder =
        all === undefined
          ? { by: 'id', ...(cursor === undefined ? {} : { after: decodeCursor(cursor)! }) }
          : { by: 'risk', risks: risksById(model, all), ...(riskAfter === undefined ? {} : { after: riskAfter }) };
      return listDevelopers(
        pool,
        filter,
        inForce,
        stalls,
        {
          ...(stage ? { stage } : {}),
          ...(reached ? { reached } : {}),
          ...(notReached ? { notReached } : {}),
          ...(stalled ? { stalled: stalled === 'true' } : {}),
          ...(escalated ? { escalated: escalated === 'true' } : {}),
          ...(week ? { cohort: week } : {}),
          ...(engagement ? { engagement: { segment: engagement, noEngagementAfterSends: running?.document.policy.noEngagementAfterSends ?? DEFAULT_NO_ENGAGEMENT } } : {}),
        },
        limit,
        (position) => developerRisk(model, position).risk,
        order,
      );
    },
  );

  app.get(
    '/v1/developers/:id/risk',
    {
      onRequest,
      schema: {
        summary: "A developer's risk of stagnating in their current stage, from the cohort's Kaplan–Meier curve of the stage",
        security,
        params: z.object({ id: z.string().min(1).max(256) }),
        querystring: z.object({ asOf: metricsQuery.shape.asOf }),
        response: { 200: riskResponse, ...errors, 404: errorResponse },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const asOfInstant = request.query.asOf === undefined ? new Date() : new Date(request.query.asOf);
      const known = await pool.query('SELECT 1 FROM developers WHERE id = $1 AND signed_up_at <= $2', [id, asOfInstant]);
      if (known.rowCount === 0) return reply.code(404).send({ errors: [{ path: 'id', message: `no developer ${id} signed up by asOf` }] });
      const [inForce, policy] = await Promise.all([funnel(), policies.active()]);
      const [model, found] = await Promise.all([
        riskModels.asOf(asOfInstant, inForce, policy?.document.criteria.stalls ?? DEFAULT_STALLS),
        positions(pool, asOfInstant, inForce, id),
      ]);
      const position = found.get(id) ?? { stageIndex: -1, stageAtMs: null, channel: null, accountType: null };
      const estimate = developerRisk(model, position);
      const stage = estimate.stageIndex === -1 ? null : stageIds(inForce.document)[estimate.stageIndex]!;
      const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);
      return {
        asOf: asOfInstant.toISOString(),
        id,
        stage,
        stageLabel: stage === null ? null : stageLabel(inForce.document, stage),
        stageAt: position.stageAtMs === null ? null : new Date(position.stageAtMs).toISOString(),
        timeInStageSeconds: seconds(estimate.timeInStageMs),
        windowSeconds: seconds(estimate.windowMs),
        risk: estimate.risk,
        unavailable: estimate.unavailable,
        atRisk: estimate.atRisk,
        curveDevelopers: estimate.curveDevelopers,
        curve: estimate.segment === null ? null : estimate.segment === 'overall' ? ('overall' as const) : ('segment' as const),
        segment: estimate.segment === null || estimate.segment === 'overall' ? null : estimate.segment,
      };
    },
  );
};
