import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Marks the hooks bearerAuth returns: the OpenAPI document lists 401 and the bearer scheme for their routes. */
export const REQUIRES_KEY = Symbol('requires a bearer key');

/**
 * Keys an endpoint accepts: fixed ones (from the environment) and, for ingest and agents, keys stored hashed
 * in the database (`lookup` answers whether a token's SHA-256 is a live one).
 */
export interface AcceptedKeys {
  keys: readonly string[];
  lookup?: (digestHex: string) => Promise<boolean>;
}

/** Both sets: a key either accepts is accepted. */
export function anyOf(a: AcceptedKeys, b: readonly string[] | AcceptedKeys): AcceptedKeys {
  const other: AcceptedKeys = Array.isArray(b) ? { keys: b as readonly string[] } : (b as AcceptedKeys);
  const lookups = [a.lookup, other.lookup].filter((l) => l !== undefined);
  const lookup = async (digestHex: string) => {
    for (const l of lookups) if (await l(digestHex)) return true;
    return false;
  };
  return { keys: [...a.keys, ...other.keys], ...(lookups.length > 0 ? { lookup } : {}) };
}

/**
 * Whether a presented key is accepted: constant-time for the fixed keys (compared as SHA-256
 * digests so their lengths leak nothing either), then the stored keys by digest.
 */
function keyCheck(acceptedKeys: readonly string[] | AcceptedKeys): (token: string) => Promise<boolean> {
  const { keys, lookup } = Array.isArray(acceptedKeys) ? { keys: acceptedKeys as readonly string[], lookup: undefined } : (acceptedKeys as AcceptedKeys);
  const accepted = keys.map(digest);
  return async (token) => {
    const presented = digest(token);
    if (accepted.some((key) => timingSafeEqual(key, presented))) return true;
    return lookup !== undefined && (await lookup(presented.toString('hex')));
  };
}

const bearerToken = (request: FastifyRequest) => /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];

/** A bearer-token check (see keyCheck). The token itself is never logged. */
export function bearerAuth(acceptedKeys: readonly string[] | AcceptedKeys) {
  const isAccepted = keyCheck(acceptedKeys);
  const hook = async (request: FastifyRequest, reply: FastifyReply) => {
    const token = bearerToken(request);
    if (token !== undefined && (await isAccepted(token))) return;
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer')
      .send({ errors: [{ path: 'authorization', message: token === undefined ? 'missing bearer token in the Authorization header' : 'invalid key' }] });
  };
  return Object.assign(hook, { [REQUIRES_KEY]: true });
}

/** Whether the request's bearer key is one of `keys` (e.g. an admin key on a route agents share), checked as bearerAuth checks. */
export function presentedKeyIn(keys: readonly string[] | AcceptedKeys) {
  const isOneOf = keyCheck(keys);
  return async (request: FastifyRequest): Promise<boolean> => {
    const token = bearerToken(request);
    return token !== undefined && (await isOneOf(token));
  };
}

/** The stored key the request's bearer key is (a personal agent key: its name is who acts); undefined if none. */
export function presentedStoredKey<T>(find: (digestHex: string) => Promise<T | undefined>) {
  return async (request: FastifyRequest): Promise<T | undefined> => {
    const token = bearerToken(request);
    return token === undefined ? undefined : find(digest(token).toString('hex'));
  };
}

/**
 * A key presented verbatim in a header of its own (Amazon Data Firehose's
 * `X-Amz-Firehose-Access-Key`), checked as bearerAuth checks its token.
 */
export function headerKeyAuth(acceptedKeys: readonly string[] | AcceptedKeys, headerName: string) {
  const isAccepted = keyCheck(acceptedKeys);
  const name = headerName.toLowerCase();
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const presented = request.headers[name];
    const key = Array.isArray(presented) ? presented[0] : presented;
    if (key && (await isAccepted(key))) return;
    return reply.code(401).send({ errors: [{ path: headerName, message: key ? 'invalid key' : `missing key in the ${headerName} header` }] });
  };
}

/** Marks the hooks writeKeyAuth returns: the OpenAPI document lists 401 and both schemes for their routes. */
export const REQUIRES_WRITE_KEY = Symbol('requires a write key: HTTP Basic with the key as user name, or bearer');

/**
 * Segment's write-key authentication — HTTP Basic, the key as user name and any password
 * (`writeKey:`) — or the key as a bearer token like every other ingest route; checked as
 * bearerAuth checks its token.
 */
export function writeKeyAuth(acceptedKeys: readonly string[] | AcceptedKeys) {
  const isAccepted = keyCheck(acceptedKeys);
  const hook = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization ?? '';
    const encoded = /^Basic\s+(\S+)$/i.exec(header)?.[1];
    const key = encoded === undefined ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : Buffer.from(encoded, 'base64').toString('utf8').split(':')[0];
    if (key && (await isAccepted(key))) return;
    return reply
      .code(401)
      .header('www-authenticate', 'Basic realm="onramp"')
      .send({ errors: [{ path: 'authorization', message: key ? 'invalid write key' : 'missing write key: HTTP Basic with the key as user name (or a bearer token)' }] });
  };
  return Object.assign(hook, { [REQUIRES_WRITE_KEY]: true });
}
