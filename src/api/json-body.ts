import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Deeper request JSON is refused (400): no event or config needs it, and deep values cost stack in every layer below. */
export const MAX_JSON_DEPTH = 64;

/** `\\u0000` in JSON text (an even number of backslashes before it: not an escaped backslash). */
const ESCAPED_NUL = /(?<!\\)(?:\\\\)*\\u0000/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function badRequest(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400 });
}

/**
 * The nesting depth of JSON text, counted without parsing, stopping past `limit`. Strings are
 * skipped with indexOf (most of a body's characters are in strings).
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      let end = text.indexOf('"', i + 1);
      while (end !== -1 && isEscaped(text, end)) end = text.indexOf('"', end + 1);
      if (end === -1) return false; // unterminated: the parser's 400
      i = end;
    } else if (c === 123 || c === 91) {
      if (++depth > limit) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

/** A quote preceded by an odd run of backslashes is inside the string. */
function isEscaped(text: string, quote: number): boolean {
  let backslashes = 0;
  for (let j = quote - 1; text.charCodeAt(j) === 92; j--) backslashes++;
  return backslashes % 2 === 1;
}

/**
 * `application/json` bodies: valid UTF-8 (invalid bytes are a 400, not replacement characters
 * stored as data), at most MAX_JSON_DEPTH deep (400), no NUL character (400), then Fastify's own
 * parser (prototype poisoning refused, malformed JSON a 400).
 */
export function strictJsonBodies(app: FastifyInstance<any, any, any, any, any>): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request: FastifyRequest, body: Buffer, done) => {
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      return done(badRequest('the body is not valid UTF-8'), undefined);
    }
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) return done(badRequest(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    // PostgreSQL stores no U+0000 (text or jsonb): refused here, before anything acts on the request.
    if (ESCAPED_NUL.test(text)) return done(badRequest('text must not contain the NUL character (U+0000)'), undefined);
    parse(request, text, done);
  });
}
