import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { NoRulesError, type RuleStore, type RuleVersion } from '../../rules/rule-store.ts';
import { rulesJsonSchema } from '../../rules/rules-json-schema.ts';
import { parseRulesSource } from '../../rules/rules-file.ts';
import { rulesDocument } from '../../rules/rules-schema.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';

export interface RulesRouteOptions {
  store: RuleStore;
  /** Bearer keys accepted here (ONRAMP_ADMIN_KEY); none: every request is a 401. */
  adminKeys: readonly string[];
}

/** A rules file's errors: the API's error shape plus the rule and the position in the YAML. */
const rulesErrorResponse = z.object({
  errors: z.array(
    z.object({
      path: z.string().describe('the field, e.g. `rules[2].when.after` (empty for the file as a whole or the request)'),
      rule: z.string().optional().describe('id of the rule the field belongs to'),
      message: z.string(),
      line: z.int().optional().describe('1-based line in the YAML source'),
      column: z.int().optional(),
    }),
  ),
});

const versionSummary = z.object({
  version: z.int(),
  author: z.string(),
  reason: z.string(),
  createdAt: z.string().describe('ISO-8601 instant'),
});

const versionResponse = versionSummary.extend({
  source: z.string().describe('the YAML as submitted'),
  document: rulesDocument.describe('the validated rules, defaults filled in, as the engine reads them'),
});

const versionWithDiff = versionResponse.extend({ diff: z.string().describe("unified diff of `source` against the previous version's") });

const applyResponse = versionWithDiff.extend({
  created: z.boolean().describe('false when the source was identical to the running version: nothing stored, that version returned'),
});

const source = z.string().max(512 * 1024).describe('the rules as YAML (config/rules.yaml format)');
const applyBody = z.object({
  source,
  author: z.string().trim().min(1).max(200).describe('who makes the change'),
  reason: z.string().trim().min(1).max(2000).describe('why'),
});

function toResponse(v: RuleVersion) {
  return { version: v.version, author: v.author, reason: v.reason, createdAt: v.createdAt.toISOString(), source: v.source, document: v.document, diff: v.diff };
}

const noRules = { errors: [{ path: '', message: new NoRulesError().message }] };

/** Nudge rules: read, validate, change (a new version each time) and their history; admin key only. */
export const rulesRoute: FastifyPluginAsyncZod<RulesRouteOptions> = async (app, { store, adminKeys }) => {
  const onRequest = bearerAuth(adminKeys);
  const security = [{ bearer: [] }];

  app.get(
    '/v1/rules',
    { onRequest, schema: { summary: 'The running nudge rules version', security, response: { 200: versionResponse, 401: errorResponse, 404: errorResponse } } },
    async (_request, reply) => {
      try {
        const { diff: _diff, ...current } = toResponse(await store.current());
        return current;
      } catch (error) {
        if (error instanceof NoRulesError) return reply.code(404).send(noRules);
        throw error;
      }
    },
  );

  app.put(
    '/v1/rules',
    {
      onRequest,
      schema: {
        summary: 'Replace the nudge rules: validated whole, stored as the next version with author, reason and diff',
        description: 'An invalid source is rejected whole (400) and the running version stays. A source identical to the running one stores nothing: 200 with that version and `created: false`.',
        security,
        body: applyBody,
        response: { 200: applyResponse, 201: applyResponse, 400: rulesErrorResponse, 401: errorResponse },
      },
    },
    async (request, reply) => {
      const result = await store.apply(request.body);
      if (!result.ok) return reply.code(400).send({ errors: result.errors });
      return reply.code(result.created ? 201 : 200).send({ ...toResponse(result.version), created: result.created });
    },
  );

  app.post(
    '/v1/rules/validate',
    {
      onRequest,
      schema: {
        summary: 'Validate rules YAML without storing it',
        security,
        body: z.object({ source }),
        response: { 200: z.object({ valid: z.literal(true), document: rulesDocument }), 400: rulesErrorResponse, 401: errorResponse },
      },
    },
    async (request, reply) => {
      const result = parseRulesSource(request.body.source);
      if (!result.ok) return reply.code(400).send({ errors: result.errors });
      return { valid: true as const, document: result.document };
    },
  );

  app.get(
    '/v1/rules/history',
    {
      onRequest,
      schema: {
        summary: 'Every rules version, newest first',
        security,
        response: { 200: z.object({ versions: z.array(versionSummary.extend({ diff: z.string() })) }), 401: errorResponse },
      },
    },
    async () => ({ versions: (await store.history()).map((v) => ({ ...v, createdAt: v.createdAt.toISOString() })) }),
  );

  app.get(
    '/v1/rules/versions/:version',
    {
      onRequest,
      schema: {
        summary: 'One rules version',
        security,
        params: z.object({ version: z.coerce.number().int().min(1).max(2_147_483_647) }),
        response: { 200: versionWithDiff, 401: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) => {
      const version = await store.get(request.params.version);
      if (!version) return reply.code(404).send({ errors: [{ path: 'version', message: `no rules version ${request.params.version}` }] });
      return toResponse(version);
    },
  );

  app.get('/v1/schemas/rules', { schema: { summary: 'The rules file format as JSON Schema (draft 2020-12)' } }, async () => rulesJsonSchema());
};
