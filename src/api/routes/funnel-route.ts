import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type pg from 'pg';
import { z } from 'zod';
import { applyFunnelChange, validateFunnelChange, type Applied, type ConfigStores } from '../../funnel/funnel-change.ts';
import type { FunnelRecomputer } from '../../ingest/funnel-recomputation.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';
import { toVersionResponse, versionedConfigReads, versionedConfigSchemas, type VersionedConfigRouteSpec } from './versioned-config-route.ts';

/**
 * The funnel: `/v1/funnel` (read, PUT a new version), `/validate`, `/history`,
 * `/versions/:version`, `/recomputation`, and `/v1/schemas/funnel`; admin key only but for the
 * JSON Schema. Its PUT and validate take the rules and escalation policy along: a funnel that
 * drops a stage they name is applied with their new versions, in one transaction, or refused. A
 * new version starts the recomputation of every developer's stages under it.
 */

export interface FunnelRouteOptions {
  pool: pg.Pool;
  stores: ConfigStores;
  adminKeys: readonly string[];
  /** Recomputes every developer's stages under a new version (started by PUT), and says how far it is. */
  recomputer: FunnelRecomputer;
}

const spec: VersionedConfigRouteSpec = {
  path: '/v1/funnel',
  schemaPath: '/v1/schemas/funnel',
  what: 'funnel',
  file: 'config/funnel.yaml',
  examplePath: 'stages[3].evidence[0].request.within',
};

export const funnelRoute: FastifyPluginAsyncZod<FunnelRouteOptions> = async (app, { pool, stores, adminKeys, recomputer }) => {
  await app.register(versionedConfigReads(spec), { store: stores.funnel, adminKeys });
  const onRequest = bearerAuth(adminKeys);
  const security = [{ bearer: [] }];
  const { fileError, document, applyResponse, source, applyBody } = versionedConfigSchemas(spec, stores.funnel.kind.format);
  const errors = z.object({
    errors: z.array(
      fileError.extend({
        document: z.enum(['funnel', 'rules', 'escalation policy']).optional().describe('the document the error is in (absent: an error in the request itself)'),
        version: z.int().optional().describe('when the error is in the rules or policy in force (not in the request): their version, whose source `line` and `column` point into'),
        rule: z.string().optional().describe('id of the rule the field belongs to'),
        stall: z.string().optional().describe('id of the stall criterion the field belongs to'),
      }),
    ),
  });
  const companion = (what: string, file: string) =>
    z
      .strictObject({
        source: z
          .string()
          .max(512 * 1024)
          .describe(`the ${what} as YAML (${file} format)`),
      })
      .optional()
      .describe(`New ${what} to store with the funnel, checked against it (same author and reason)`);
  const companions = { rules: companion('nudge rules', 'config/rules.yaml'), escalationPolicy: companion('escalation policy', 'config/escalation.yaml') };
  const companionApplied = z
    .object({ version: z.int(), created: z.boolean(), diff: z.string() })
    .optional()
    .describe('The version stored (or, `created: false`, identical to the one running)');
  const toCompanion = (applied: Applied<unknown> | undefined) => applied && { version: applied.version.version, created: applied.created, diff: applied.version.diff };

  app.post(
    `${spec.path}/validate`,
    {
      onRequest,
      schema: {
        summary: 'Validate funnel YAML without storing it: on its own, and against the rules and policy (those given, else those in force)',
        security,
        body: z.strictObject({ source, ...companions }),
        response: { 200: z.object({ valid: z.literal(true), document }), 400: errors, 401: errorResponse },
      },
    },
    async (request, reply) => {
      const result = await validateFunnelChange(pool, stores, request.body);
      if (!result.ok) return reply.code(400).send({ errors: result.errors });
      return { valid: true as const, document: result.document };
    },
  );

  const recomputation = z.object({
    funnelVersion: z.int(),
    status: z.enum(['running', 'done', 'superseded']).describe('superseded: a newer version came into force before it finished'),
    developersDone: z.int(),
    developersTotal: z.int().describe('developers today: what a running recomputation is heading for'),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
  });
  app.get(
    `${spec.path}/recomputation`,
    {
      onRequest,
      schema: {
        summary: "The recomputation of every developer's stages under the newest funnel version applied by PUT",
        security,
        response: { 200: recomputation, 401: errorResponse, 404: errorResponse },
      },
    },
    async (_request, reply) => {
      const status = await recomputer.status();
      if (!status) return reply.code(404).send({ errors: [{ path: '', message: 'no funnel version has been applied since the first: nothing recomputed' }] });
      return status;
    },
  );

  app.put(
    spec.path,
    {
      onRequest,
      schema: {
        summary: 'Replace the funnel, with the rules and escalation policy that go with it: validated together, stored as their next versions in one transaction',
        description:
          'Refused whole (400, nothing stored) when a source is invalid, or when the rules or policy (those given, else those in force) name a stage the funnel does not have or a stall whose `until` is not after its `since` in it. A funnel source identical to the running one stores no funnel version (`created: false`).',
        security,
        body: applyBody.extend(companions),
        response: {
          200: applyResponse.extend({ rules: companionApplied, escalationPolicy: companionApplied }),
          201: applyResponse.extend({ rules: companionApplied, escalationPolicy: companionApplied }),
          400: errors,
          401: errorResponse,
        },
      },
    },
    async (request, reply) => {
      const result = await applyFunnelChange(pool, stores, request.body);
      if (!result.ok) return reply.code(400).send({ errors: result.errors });
      if (result.funnel.created)
        recomputer.run().catch((error: unknown) => request.log.error({ err: error }, 'funnel recomputation failed; it resumes at the next start or change'));
      const created = result.funnel.created || result.rules?.created === true || result.escalationPolicy?.created === true;
      return reply.code(created ? 201 : 200).send({
        ...toVersionResponse(result.funnel.version),
        created: result.funnel.created,
        ...(result.rules ? { rules: toCompanion(result.rules) } : {}),
        ...(result.escalationPolicy ? { escalationPolicy: toCompanion(result.escalationPolicy) } : {}),
      });
    },
  );
};
