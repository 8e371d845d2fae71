import type { FastifyRequest } from 'fastify';
import type { AnyFastify } from './openapi-conventions.ts';
import { textProblem } from './storable-text.ts';

/** Deeper request JSON is refused (400): no event or config needs it, and deep values cost stack in every layer below. */
export const MAX_JSON_DEPTH = 64;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function badRequest(message: string, bodyPath?: readonly (string | number)[]): Error {
  return Object.assign(new Error(message), { statusCode: 400 }, bodyPath ? { bodyPath } : {});
}

/** A value in a parsed body that would not be stored as sent, and where it is. */
export interface UnfaithfulValue {
  path: (string | number)[];
  message: string;
}

/**
 * Whether JSON text can hold a value unfaithfulValue refuses, from markers every such value needs:
 * a `\\u` escape (the only way to write a lone surrogate or NUL: the text is valid UTF-8 and raw
 * control characters are malformed JSON; also escaped spellings of keys), a prototype key, or a
 * number beyond a double (an exponent of 3+ digits, or 200+ digits in a row). Scanning the text is
 * about a hundred times cheaper than walking the parsed value, which most bodies then skip.
 */
export function mayHoldUnfaithfulValue(text: string): boolean {
  return /\\u|__proto__|constructor|[eE][+-]?\d{3}|\d{200}/.test(text);
}

/**
 * The first value of a parsed JSON body that the API could not keep as sent: text PostgreSQL
 * cannot store faithfully (a lone surrogate would become U+FFFD, merging two ids into one; NUL is
 * refused), a number beyond a double (`1e309` parses as Infinity and would be stored as null), or
 * a prototype-poisoning key (`__proto__`, `constructor.prototype`). Keys are checked like values.
 * Depth is bounded before parsing (MAX_JSON_DEPTH), so the recursion is too.
 */
export function unfaithfulValue(value: unknown, path: (string | number)[] = []): UnfaithfulValue | undefined {
  if (typeof value === 'string') {
    const message = textProblem(value);
    return message ? { path, message } : undefined;
  }
  if (typeof value === 'number') {
    return Number.isFinite(value) ? undefined : { path, message: 'must be a number a double can hold (at most about 1.8e308 in magnitude); send larger values as strings' };
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = unfaithfulValue(item, [...path, i]);
      if (found) return found;
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    const at = [...path, key];
    const message = textProblem(key);
    if (message) return { path: at, message: `the key ${message.replace(/^text /, '')}` };
    if (key === '__proto__') return { path: at, message: 'the key "__proto__" is refused (prototype poisoning)' };
    if (key === 'constructor' && item !== null && typeof item === 'object' && Object.hasOwn(item, 'prototype')) {
      return { path: [...at, 'prototype'], message: 'the key "constructor.prototype" is refused (prototype poisoning)' };
    }
    const found = unfaithfulValue(item, at);
    if (found) return found;
  }
  return undefined;
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
 * stored as data), at most MAX_JSON_DEPTH deep (400), then Fastify's own parser (malformed or
 * empty JSON a 400), then every value and key kept as sent or a 400 naming it (unfaithfulValue).
 */
export function strictJsonBodies(app: AnyFastify): void {
  // Prototype-poisoning keys are refused by unfaithfulValue, which names them.
  const parse = app.getDefaultJsonParser('ignore', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request: FastifyRequest, body: Buffer, done) => {
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      return done(badRequest('the body is not valid UTF-8'), undefined);
    }
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) return done(badRequest(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    parse(request, text, (error, value) => {
      if (error) return done(error, undefined);
      // Refused here, before anything acts on the request.
      const unfaithful = mayHoldUnfaithfulValue(text) ? unfaithfulValue(value) : undefined;
      if (unfaithful) return done(badRequest(unfaithful.message, unfaithful.path), undefined);
      done(null, value);
    });
  });
}
