import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ConfigFormat } from '../../rules/config-file.ts';
import { configJsonSchema } from '../../rules/config-json-schema.ts';
import { NoConfigVersionError, type ConfigVersion, type VersionedConfigStore } from '../../rules/versioned-config-store.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';

/**
 * The endpoints of a versioned config document (the nudge rules, the escalation policy, the
 * funnel): read the running version, validate, change (a new version each time), history, one
 * version, and the format as JSON Schema. Admin key only, but for the JSON Schema.
 */

export interface VersionedConfigRouteSpec {
  /** The running version's URL (`/v1/rules`); `…/validate`, `…/history` and `…/versions/:version` hang off it. */
  path: string;
  /** The JSON Schema's URL (`/v1/schemas/rules`). */
  schemaPath: string;
  /** What the document is, in summaries: `nudge rules`. */
  what: string;
  /** The shipped file, in descriptions: `config/rules.yaml`. */
  file: string;
  /** A field path, in descriptions: `rules[2].when.after`. */
  examplePath: string;
}

export interface VersionedConfigRouteOptions {
  /** Any document: `never` stands for whatever lists its errors name items of. */
  store: VersionedConfigStore<z.ZodType, never>;
  /** Bearer keys accepted here (ONRAMP_ADMIN_KEY); none: every request is a 401. */
  adminKeys: readonly string[];
}

/** The request and response schemas of one document's endpoints (shared with the funnel's own PUT and validate). */
export function versionedConfigSchemas(spec: VersionedConfigRouteSpec, format: ConfigFormat<z.ZodType, never>) {
  /** A file's error: the API's error shape plus the item named (rule, stall) and the position in the YAML. */
  const fileError = z.object({
    path: z.string().describe(`the field, e.g. \`${spec.examplePath}\` (empty for the file as a whole or the request)`),
    ...Object.fromEntries(Object.keys(format.namedLists).map((key) => [key, z.string().optional().describe(`id of the ${key} the field belongs to`)])),
    message: z.string(),
    line: z.int().optional().describe('1-based line in the YAML source'),
    column: z.int().optional(),
  });
  const versionSummary = z.object({
    version: z.int(),
    author: z.string(),
    reason: z.string(),
    createdAt: z.string().describe('ISO-8601 instant'),
  });
  const document = format.schema.describe(`the validated ${spec.what}, defaults filled in, as the engine reads them`);
  const versionResponse = versionSummary.extend({ source: z.string().describe('the YAML as submitted'), document });
  const versionWithDiff = versionResponse.extend({ diff: z.string().describe("unified diff of `source` against the previous version's") });
  const applyResponse = versionWithDiff.extend({
    created: z.boolean().describe('false when the source was identical to the running version: nothing stored, that version returned'),
  });
  const source = z
    .string()
    .max(512 * 1024)
    .describe(`the ${spec.what} as YAML (${spec.file} format)`);
  const applyBody = z.strictObject({
    source,
    author: z.string().max(200).regex(/\S/, 'must not be blank').trim().describe('who makes the change'),
    reason: z.string().max(2000).regex(/\S/, 'must not be blank').trim().describe('why'),
  });
  return { fileError, versionSummary, document, versionResponse, versionWithDiff, applyResponse, source, applyBody };
}

export function toVersionResponse(v: ConfigVersion<unknown>) {
  return { version: v.version, author: v.author, reason: v.reason, createdAt: v.createdAt.toISOString(), source: v.source, document: v.document, diff: v.diff };
}

/**
 * The reads of one versioned config document at `spec.path`: the running version, the history,
 * one version, and the JSON Schema. A document changed through its own PUT (the funnel's, which
 * takes the rules and policy along) registers this and its own PUT and validate.
 */
export function versionedConfigReads(spec: VersionedConfigRouteSpec): FastifyPluginAsyncZod<VersionedConfigRouteOptions> {
  return async (app, { store, adminKeys }) => {
    const { format } = store.kind;
    const { label } = format;
    const onRequest = bearerAuth(adminKeys);
    const security = [{ bearer: [] }];
    const { versionSummary, versionResponse, versionWithDiff } = versionedConfigSchemas(spec, format);

    app.get(
      spec.path,
      { onRequest, schema: { summary: `The running ${spec.what} version`, security, response: { 200: versionResponse, 401: errorResponse, 404: errorResponse } } },
      async (_request, reply) => {
        try {
          const { diff: _diff, ...current } = toVersionResponse(await store.current());
          return current;
        } catch (error) {
          if (error instanceof NoConfigVersionError) return reply.code(404).send({ errors: [{ path: '', message: error.message }] });
          throw error;
        }
      },
    );

    app.get(
      `${spec.path}/history`,
      {
        onRequest,
        schema: {
          summary: `Every ${label} version, newest first`,
          security,
          response: { 200: z.object({ versions: z.array(versionSummary.extend({ diff: z.string() })) }), 401: errorResponse },
        },
      },
      async () => ({ versions: (await store.history()).map((v) => ({ ...v, createdAt: v.createdAt.toISOString() })) }),
    );

    app.get(
      `${spec.path}/versions/:version`,
      {
        onRequest,
        schema: {
          summary: `One ${label} version`,
          security,
          params: z.object({ version: z.coerce.number().int().min(1).max(2_147_483_647) }),
          response: { 200: versionWithDiff, 401: errorResponse, 404: errorResponse },
        },
      },
      async (request, reply) => {
        const version = await store.get(request.params.version);
        if (!version) return reply.code(404).send({ errors: [{ path: 'version', message: `no ${label} version ${request.params.version}` }] });
        return toVersionResponse(version);
      },
    );

    const jsonSchema = configJsonSchema(format);
    app.get(
      spec.schemaPath,
      { config: { static: true }, schema: { summary: `The ${label} file format as JSON Schema (draft 2020-12)`, response: { 200: z.record(z.string(), z.unknown()) } } },
      async () => jsonSchema,
    );
  };
}

/** A plugin serving one versioned config document at `spec.path`: the reads, PUT and validate. */
export function versionedConfigRoute(spec: VersionedConfigRouteSpec): FastifyPluginAsyncZod<VersionedConfigRouteOptions> {
  return async (app, options) => {
    const { store, adminKeys } = options;
    const { format } = store.kind;
    const { label } = format;
    const onRequest = bearerAuth(adminKeys);
    const security = [{ bearer: [] }];
    const { fileError, document, applyResponse, source, applyBody } = versionedConfigSchemas(spec, format);
    const fileErrorResponse = z.object({ errors: z.array(fileError) });

    await app.register(versionedConfigReads(spec), options);

    app.put(
      spec.path,
      {
        onRequest,
        schema: {
          summary: `Replace the ${spec.what}: validated whole, stored as the next version with author, reason and diff`,
          description:
            'An invalid source is rejected whole (400) and the running version stays, as is one naming a stage the funnel in force does not have. A source identical to the running one stores nothing: 200 with that version and `created: false`.',
          security,
          body: applyBody,
          response: { 200: applyResponse, 201: applyResponse, 400: fileErrorResponse, 401: errorResponse },
        },
      },
      async (request, reply) => {
        const result = await store.apply(request.body);
        if (!result.ok) return reply.code(400).send({ errors: result.errors });
        return reply.code(result.created ? 201 : 200).send({ ...toVersionResponse(result.version), created: result.created });
      },
    );

    app.post(
      `${spec.path}/validate`,
      {
        onRequest,
        schema: {
          summary: `Validate ${label} YAML without storing it (against the funnel in force too)`,
          security,
          body: z.strictObject({ source }),
          response: { 200: z.object({ valid: z.literal(true), document }), 400: fileErrorResponse, 401: errorResponse },
        },
      },
      async (request, reply) => {
        const result = await store.validate(request.body.source);
        if (!result.ok) return reply.code(400).send({ errors: result.errors });
        return { valid: true as const, document: result.document };
      },
    );
  };
}
