import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Marks the hooks bearerAuth returns: the OpenAPI document lists 401 and the bearer scheme for their routes. */
export const REQUIRES_KEY = Symbol('requires a bearer key');

/**
 * Keys an endpoint accepts: fixed ones (from the environment) and, for ingest, keys stored hashed
 * in the database (`lookup` answers whether a token's SHA-256 is a live one).
 */
export interface AcceptedKeys {
  keys: readonly string[];
  lookup?: (digestHex: string) => Promise<boolean>;
}

/** Both sets: a key either accepts is accepted. */
export function anyOf(a: AcceptedKeys, b: readonly string[]): AcceptedKeys {
  return { keys: [...a.keys, ...b], ...(a.lookup ? { lookup: a.lookup } : {}) };
}

/**
 * A bearer-token check, constant-time for the fixed keys (compared as SHA-256 digests so their
 * lengths leak nothing either), then the stored keys by digest. The token itself is never logged.
 */
export function bearerAuth(acceptedKeys: readonly string[] | AcceptedKeys) {
  const { keys, lookup } = Array.isArray(acceptedKeys) ? { keys: acceptedKeys as readonly string[], lookup: undefined } : (acceptedKeys as AcceptedKeys);
  const accepted = keys.map(digest);
  const hook = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const presented = token === undefined ? undefined : digest(token);
    if (presented && accepted.some((key) => timingSafeEqual(key, presented))) return;
    if (presented && lookup && (await lookup(presented.toString('hex')))) return;
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer')
      .send({ errors: [{ path: 'authorization', message: token === undefined ? 'missing bearer token in the Authorization header' : 'invalid key' }] });
  };
  return Object.assign(hook, { [REQUIRES_KEY]: true });
}
