import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * A bearer-token check against a set of accepted keys, constant-time (keys are compared as
 * SHA-256 digests so their lengths leak nothing either).
 */
export function bearerAuth(acceptedKeys: readonly string[]) {
  const accepted = acceptedKeys.map(digest);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const presented = token === undefined ? undefined : digest(token);
    if (!presented || !accepted.some((key) => timingSafeEqual(key, presented))) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ errors: [{ path: 'authorization', message: token === undefined ? 'missing bearer token in the Authorization header' : 'invalid key' }] });
    }
  };
}
