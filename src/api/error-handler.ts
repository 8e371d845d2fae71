import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { formatPath } from '../rules/config-file.ts';
import { NUL_MESSAGE } from './storable-text.ts';

export interface FieldError {
  index?: number;
  path: string;
  message: string;
}

/**
 * How a route names a field: `events` batches as `{ index: 3, path: 'properties.email' }`, the
 * Segment source as Segment's own payloads are addressed (`batch[3].event`), others dotted.
 */
type PathStyle = 'events' | 'indexed' | 'dotted';

function toFieldError(segments: readonly (string | number)[], message: string, style: PathStyle): FieldError {
  const parts = segments.map(String).filter(Boolean);
  if (style === 'events' && parts[0] === 'events' && parts[1] !== undefined && /^\d+$/.test(parts[1])) {
    return { index: Number(parts[1]), path: parts.slice(2).join('.'), message };
  }
  if (style === 'indexed') return { path: formatPath(parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p))), message };
  return { path: parts.join('.'), message };
}

/** A zod issue as field errors: an unknown key is named at its own path (zod puts it at the object's). */
function validationErrors(v: FastifySchemaValidationError, style: PathStyle): FieldError[] {
  const parts = (v.instancePath ?? '').split('/');
  const keys = v.keyword === 'unrecognized_keys' ? (v.params as { keys?: unknown }).keys : undefined;
  if (Array.isArray(keys) && keys.length > 0) {
    return keys.map((key) => toFieldError([...parts, String(key)], `unknown field "${String(key)}"`, style));
  }
  return [toFieldError(parts, v.message ?? 'invalid', style)];
}

/**
 * PostgreSQL's SQLSTATEs for a request that cannot be served now but can be retried as it is:
 * connection exceptions (class 08), too many connections (53300), shutting down, crashed or still
 * recovering (57P01–57P03: a restart answers 57P03 "not yet accepting connections" until recovery
 * is done), and a transaction rolled back whole to break a deadlock or a serialization conflict
 * (40P01, 40001: two API versions taking locks in different orders during a rolling deploy).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|53300|57P0[123]|40P01|40001)$/;

/** True for a database error that the same request, sent again, can clear (as opposed to a bug). */
function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  if (UNAVAILABLE_SQLSTATE.test(code)) return true;
  const text = `${code} ${(error as Error).message ?? ''}`;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|P1001|P1017|P2024|Can't reach database|Connection terminated|connection closed|terminating connection/i.test(text);
}

/** PostgreSQL refusing a NUL character (text: 22021, jsonb: 22P05), directly or through Prisma. */
function isNulRejected(error: unknown): boolean {
  const text = `${(error as { code?: string }).code ?? ''} ${(error as Error).message ?? ''}`;
  return /\b22021\b|\b22P05\b|invalid byte sequence for encoding "UTF8": 0x00|unsupported Unicode escape sequence|\\u0000 cannot be converted/.test(text);
}

/**
 * One error shape for the whole API: `{"errors":[{index?, path, message}]}` for bad input, with the
 * status saying what went wrong; never a 5xx for bad input.
 */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const style: PathStyle = request.url.startsWith('/v1/events') || request.url.startsWith('/v1/import') ? 'events' : request.url.startsWith('/v1/sources/') ? 'indexed' : 'dotted';
  if (hasZodFastifySchemaValidationErrors(error)) {
    return reply.code(400).send({ errors: error.validation.flatMap((v) => validationErrors(v, style)) });
  }
  const status = error.statusCode ?? 500;
  // A body value the JSON parser refused (json-body.ts), at its path.
  const { bodyPath } = error as { bodyPath?: readonly (string | number)[] };
  if (status === 400 && bodyPath) return reply.code(400).send({ errors: [toFieldError(bodyPath, error.message, style)] });
  if (status >= 400 && status < 500) {
    const message = error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.name === 'SyntaxError' ? `malformed JSON: ${error.message}` : error.message;
    return reply.code(status).send({ errors: [{ path: '', message }] });
  }
  // PostgreSQL stores no U+0000 in text or jsonb: such input is bad input, not a server error.
  if (isNulRejected(error)) {
    return reply.code(400).send({ errors: [{ path: '', message: NUL_MESSAGE }] });
  }
  if (isUnavailable(error)) {
    request.log.warn({ err: error }, 'storage unavailable');
    return reply
      .code(503)
      .header('retry-after', '5')
      .send({ errors: [{ path: '', message: 'storage unavailable, retry later' }] });
  }
  request.log.error({ err: error }, 'unhandled error');
  return reply.code(500).send({ errors: [{ path: '', message: 'internal error' }] });
}
