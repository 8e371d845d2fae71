import type { IncomingMessage, ServerResponse } from 'node:http';
import { attribute, type AttributionOptions } from './attribution.ts';
import type { OnrampRecorder } from './recorder.ts';

export interface HttpOptions extends AttributionOptions<IncomingMessage> {
  /** The request's endpoint template (`/users/:id`): a plain server has no router to ask (default: the path without its query). */
  route?: (request: IncomingMessage) => string;
}

/**
 * A plain `node:http` handler, recorded: `http.createServer(withOnramp(recorder, handler, { route }))`.
 * Each request is recorded when its response finishes.
 */
export function withOnramp(
  recorder: OnrampRecorder,
  handler: (request: IncomingMessage, response: ServerResponse) => void,
  { route = (request) => (request.url ?? '/').split('?')[0] ?? '/', ...options }: HttpOptions = {},
) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    const startedAt = Date.now();
    const start = performance.now();
    response.once('finish', () => {
      recorder.record({
        endpoint: route(request),
        method: request.method ?? 'GET',
        status: response.statusCode,
        startedAt,
        latencyMs: performance.now() - start,
        ...attribute(request, options),
      });
    });
    handler(request, response);
  };
}
