import type { FastifyInstance, RouteOptions } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { REQUIRES_KEY, REQUIRES_WRITE_KEY } from './auth.ts';
import { errorResponse } from './routes/error-response.ts';

/** An app with any server, logger and type provider: the hooks added by these helpers read only route options and the request. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- FastifyInstance is invariant in its logger and type provider
export type AnyFastify = FastifyInstance<any, any, any, any, any>;

/**
 * What every route can answer besides its own statuses, added to its response schema (so the
 * OpenAPI document and the serializer both know them) from the route's own definition:
 * 401 where a key is required (and its schemes: bearer; basic or bearer for a write key), 400 wherever input is validated,
 * 413 and 415 wherever a body is read, 503 wherever storage is touched (every route not marked
 * `config: { static: true }`). A route's own entry for a status wins.
 */
export function documentCommonStatuses(app: AnyFastify): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as (Record<string, unknown> & { response?: Record<string, unknown>; hide?: boolean; security?: unknown }) | undefined;
    if (!schema || schema.hide) return;
    const response = (schema.response ??= {});
    const add = (status: number) => {
      if (!(status in response)) response[status] = errorResponse;
    };
    const hooks = [route.onRequest].flat().filter(Boolean) as unknown as Record<symbol, unknown>[];
    if (hooks.some((hook) => hook[REQUIRES_KEY])) {
      add(401);
      schema.security ??= [{ bearer: [] }];
    }
    if (hooks.some((hook) => hook[REQUIRES_WRITE_KEY])) {
      add(401);
      schema.security ??= [{ basic: [] }, { bearer: [] }];
    }
    const methods = [route.method].flat();
    const readsBody = methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH');
    if (schema.body || schema.querystring || schema.params || schema.headers || readsBody) add(400);
    if (readsBody) {
      add(413);
      add(415);
    }
    if (!(route.config as { static?: boolean } | undefined)?.static) add(503);
  });
}

/** PostgreSQL stores no U+0000: every free-text string the API reads excludes it (answered 400). */
const NO_NUL = '^[^\\u0000]*$';

function forbidNul(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(forbidNul);
  if (typeof node !== 'object' || node === null) return;
  const schema = node as Record<string, unknown>;
  const plain = !('pattern' in schema) && !('enum' in schema) && !('const' in schema) && !('format' in schema);
  if (schema.type === 'string' && plain) schema.pattern = NO_NUL;
  // An unanchored pattern (e.g. `\S`: not blank) says nothing about the rest of the string: both apply.
  else if (schema.type === 'string' && typeof schema.pattern === 'string' && !schema.pattern.startsWith('^')) schema.allOf = [{ pattern: NO_NUL }];
  for (const value of Object.values(schema)) forbidNul(value);
}

/** The OpenAPI transform: the zod schemas as JSON Schema, with the NUL character excluded from request strings. */
export function openApiTransform(input: Parameters<typeof jsonSchemaTransform>[0]): ReturnType<typeof jsonSchemaTransform> {
  const output = jsonSchemaTransform(input);
  const schema = output.schema as Record<string, unknown>;
  for (const part of ['body', 'querystring', 'params', 'headers']) forbidNul(schema[part]);
  return output;
}

/**
 * 405 Method Not Allowed (with `Allow`) for a known path asked with a method it does not answer;
 * unknown paths stay 404. Decided before the body is read (onRequest), so a body-carrying method
 * such as QUERY gets the 405 too, not a parse error.
 */
export function methodNotAllowed(app: AnyFastify): void {
  const routes: { pattern: RegExp; methods: Set<string> }[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const source = `^${route.url
      .split('/')
      .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/')}$`;
    let entry = routes.find((r) => r.pattern.source === source);
    if (!entry) routes.push((entry = { pattern: new RegExp(source), methods: new Set() }));
    for (const method of [route.method].flat()) entry.methods.add(method);
    if (entry.methods.has('GET')) entry.methods.add('HEAD');
  });
  app.addHook('onRequest', async (request, reply) => {
    if (!request.is404) return;
    const path = request.url.split('?')[0] ?? '';
    const allowed = new Set(routes.filter((r) => r.pattern.test(path)).flatMap((r) => [...r.methods]));
    if (allowed.size === 0) return;
    const allow = [...allowed].sort().join(', ');
    return reply
      .code(405)
      .header('allow', allow)
      .send({ errors: [{ path: '', message: `method ${request.method} not allowed on ${path} (allowed: ${allow})` }] });
  });
}
