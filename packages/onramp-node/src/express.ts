import type { IncomingMessage, ServerResponse } from 'node:http';
import { attribute, type AttributionOptions } from './attribution.ts';
import { UNMATCHED_ENDPOINT, type OnrampRecorder } from './recorder.ts';

/** What the middleware reads of Express's request (Express 4 and 5), so the package needs no Express types. */
export interface ExpressRequest extends IncomingMessage {
  baseUrl: string;
  originalUrl: string;
  route?: { path: string | RegExp } | undefined;
}

/**
 * Express middleware: `app.use(onrampExpress(recorder))` before the routes. Each request is recorded
 * when its response finishes, its endpoint the matched route's template (`req.baseUrl` +
 * `req.route.path`, e.g. `/v1/users/:id`); a request no route matched is recorded as `(unmatched)`.
 */
export function onrampExpress<Req extends ExpressRequest = ExpressRequest>(recorder: OnrampRecorder, options: AttributionOptions<Req> = {}) {
  return (req: Req, res: ServerResponse, next: () => void): void => {
    const startedAt = Date.now();
    const start = performance.now();
    res.once('finish', () => {
      const route = req.route?.path;
      const endpoint = route === undefined ? UNMATCHED_ENDPOINT : `${req.baseUrl}${String(route)}`;
      recorder.record({ endpoint, method: req.method ?? 'GET', status: res.statusCode, startedAt, latencyMs: performance.now() - start, ...attribute(req, options) });
    });
    next();
  };
}
