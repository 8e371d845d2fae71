import type { AnyFastify } from './openapi-conventions.ts';

/**
 * Text PostgreSQL cannot store as sent: NUL (refused in text and jsonb) and lone UTF-16 surrogates
 * (no character: stored as U+FFFD, so two different ids would become one). Refused wherever the
 * API reads text (JSON bodies: json-body.ts; query and path parameters: below), before anything
 * reaches the database.
 */

const LONE_SURROGATE = 'must not contain a lone UTF-16 surrogate (a \\uD800–\\uDFFF escape without its pair): it is no character, and would be stored as U+FFFD';
export const NUL_MESSAGE = 'text must not contain the NUL character (U+0000)';

/** A high surrogate not followed by a low one, or a low one not preceded by a high one (code units: no `u` flag). */
const LONE_SURROGATE_AT = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `text` cannot be stored as sent, or undefined. */
export function textProblem(text: string): string | undefined {
  if (LONE_SURROGATE_AT.test(text)) return LONE_SURROGATE;
  if (text.includes('\u0000')) return NUL_MESSAGE;
  return undefined;
}

/**
 * Query and path parameters holding such text (`?orgId=a%00b`) are a 400 naming the parameter,
 * before validation: on the embedded PGlite a statement PostgreSQL refuses is a failed statement
 * on its one connection, not just an error answer. (Percent-decoding yields no lone surrogate:
 * invalid UTF-8 stays undecoded in a query and is a 400 in a path; checked all the same.)
 */
export function refuseUnstorableParameters(app: AnyFastify): void {
  app.addHook('preValidation', async (request, reply) => {
    for (const [where, values] of [
      ['params', request.params],
      ['query', request.query],
    ] as const) {
      if (values === null || typeof values !== 'object') continue;
      for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
        const problem =
          textProblem(name) ??
          [value]
            .flat()
            .map((v) => (typeof v === 'string' ? textProblem(v) : undefined))
            .find(Boolean);
        if (problem) return reply.code(400).send({ errors: [{ path: name, message: `${where === 'params' ? 'path' : 'query'} parameter ${problem.replace(/^text /, '')}` }] });
      }
    }
  });
}
