import type { IncomingHttpHeaders } from 'node:http';
import { attribute, type AttributionOptions } from './attribution.ts';
import { UNMATCHED_ENDPOINT, type OnrampRecorder } from './recorder.ts';

/** What the plugin reads of Fastify's request and reply (Fastify 4.10+ and 5), so the package needs no Fastify types. */
export interface FastifyRequestLike {
  headers: IncomingHttpHeaders;
  method: string;
  url: string;
  routeOptions: { url?: string | undefined };
}
interface FastifyReplyLike {
  statusCode: number;
  elapsedTime: number;
}
interface FastifyLike {
  addHook(name: 'onResponse', hook: (request: never, reply: never, done: () => void) => void): unknown;
}

/** The callbacks get Fastify's request (cast it to read what your app decorates it with). */
export interface FastifyOptions extends AttributionOptions<FastifyRequestLike> {
  recorder: OnrampRecorder;
}

/**
 * A Fastify plugin: `app.register(onrampFastify, { recorder })`. Its onResponse hook records each
 * request, its endpoint the route's template (`request.routeOptions.url`, prefixes included;
 * `(unmatched)` for a request no route matched). It
 * applies to the whole app, other plugins' routes too (it is registered with Fastify's
 * `skip-override`, as fastify-plugin does): register it before the routes.
 */
export function onrampFastify(app: FastifyLike, { recorder, ...options }: FastifyOptions, done: (error?: Error) => void): void {
  app.addHook('onResponse', ((request: FastifyRequestLike, reply: FastifyReplyLike, hookDone: () => void) => {
    recorder.record({
      endpoint: request.routeOptions.url ?? UNMATCHED_ENDPOINT,
      method: request.method,
      status: reply.statusCode,
      startedAt: Date.now() - reply.elapsedTime,
      latencyMs: reply.elapsedTime,
      ...attribute(request, options),
    });
    hookDone();
  }) as never);
  done();
}
Object.assign(onrampFastify, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'onramp' });
