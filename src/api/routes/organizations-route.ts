import type pg from 'pg';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import { unknownStageProblem, type ReadFunnelInForce } from '../../funnel/funnel-in-force.ts';
import { stageId } from '../../funnel/funnel-schema.ts';
import { decodeCursor } from '../../metrics/developer-list.ts';
import { developerFilter, metricsQuery } from '../../metrics/metrics-query.ts';
import { listOrganizations } from '../../metrics/organization-list.ts';
import { bearerAuth } from '../auth.ts';
import { organizationResponse } from '../organization-schema.ts';
import { readOrganization } from '../read-organization.ts';
import { errorResponse } from './error-response.ts';
import { cohortParam, pageParams } from './list-params.ts';

export interface OrganizationsRouteOptions {
  pool: pg.Pool;
  prisma: PrismaClient;
  /** Admin keys and the read-only metrics keys (ONRAMP_METRICS_KEY). */
  readKeys: readonly string[];
  funnel: ReadFunnelInForce;
}

const instant = z.string().describe('ISO-8601 UTC');

const organizationsQuery = metricsQuery.extend({
  stage: stageId.optional().describe('the furthest stage any member reached by asOf; a stage of the funnel in force (400 otherwise)'),
  cohort: cohortParam.describe("the week of the organisation's first signup"),
  search: z.string().min(1).max(256).optional().describe("a part of the organisation's id, any case"),
  individuals: z
    .enum(['true', 'false'])
    .optional()
    .describe('true: also developers who signed up without an organisation, each their own account (as unit=organization counts them); default false'),
  ...pageParams,
});

const organizationsResponse = z.object({
  asOf: instant,
  items: z.array(
    z.object({
      account: z.string().describe('the account: org:<orgId>, or developer:<id> for a developer without an organisation (with individuals=true)'),
      orgId: z.string().nullable(),
      developerId: z.string().nullable().describe('the developer of an account of their own; null for an organisation'),
      members: z.int().describe('members who signed up by asOf (matching channel, accountType)'),
      stage: stageId.nullable().describe('the furthest stage in the funnel in force any member reached by asOf'),
      stageLabel: z.string().nullable().describe("the stage's label in the funnel in force (its id when it has none)"),
      stageAt: instant.nullable().describe('when its first member reached that stage'),
      cohort: z.string().describe('ISO-8601 week of its first signup, e.g. 2026-W49'),
      firstSignupAt: instant,
      lastActivityAt: instant.nullable().describe('the latest event of any member by asOf (any type, by occurredAt); null when none is stored'),
    }),
  ),
  nextCursor: z.string().nullable().describe('pass as `cursor` (with the same filters) for the next page; null on the last'),
});

/** The organisations (accounts) behind a figure counted per organisation, and one organisation with its members' journeys. */
export const organizationsRoute: FastifyPluginAsyncZod<OrganizationsRouteOptions> = async (app, { pool, prisma, readKeys, funnel }) => {
  const security = [{ bearer: [] }];
  const onRequest = bearerAuth(readKeys);

  app.get(
    '/v1/organizations',
    {
      onRequest,
      schema: {
        summary: 'The organisations behind a figure counted per organisation, in account order, paginated',
        security,
        querystring: organizationsQuery,
        response: { 200: organizationsResponse, 400: errorResponse, 401: errorResponse },
      },
    },
    async (request, reply) => {
      const { stage, cohort, search, individuals, limit, cursor } = request.query;
      const inForce = await funnel();
      const unknown = stage === undefined ? undefined : unknownStageProblem(inForce.document, stage);
      if (unknown !== undefined) return reply.code(400).send({ errors: [{ path: 'stage', message: unknown }] });
      return listOrganizations(
        pool,
        developerFilter(request.query),
        inForce,
        { ...(stage ? { stage } : {}), ...(cohort ? { cohort } : {}), ...(search ? { search } : {}), individuals: individuals === 'true' },
        limit,
        cursor === undefined ? undefined : decodeCursor(cursor),
      );
    },
  );

  app.get(
    '/v1/organizations/:orgId',
    {
      onRequest,
      schema: {
        summary: "One organisation: when it reached each stage and by which member, and its members' journeys in short",
        security,
        params: z.object({ orgId: z.string().min(1).max(256) }),
        response: { 200: organizationResponse, 401: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) => {
      const organization = await readOrganization(prisma, await funnel(), request.params.orgId);
      if (!organization) return reply.code(404).send({ errors: [{ path: 'orgId', message: `no organization ${request.params.orgId}` }] });
      return organization;
    },
  );
};
