import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The errors Fastify and Node answer before a route's error handler could run, in the API's one
 * error shape. None of them quotes the URL: it can carry secrets (unsubscribe tokens) and be long.
 */

const body = (message: string) => ({ errors: [{ path: '', message }] });

/** Fastify's `frameworkErrors`: a path that is not percent-encoded UTF-8, a path segment over the router's limit. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  if (error.code === 'FST_ERR_BAD_URL') return reply.code(400).send(body('the path is not valid percent-encoded UTF-8'));
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') return reply.code(414).send(body('a path segment is too long'));
  reply.log.error({ err: error }, 'framework error');
  return reply.code(500).send(body('internal error'));
}

/** 404 for an unknown path: the path is named (not its query), cut short. */
export function notFound(request: FastifyRequest, reply: FastifyReply) {
  const path = request.url.split('?')[0] ?? '';
  const shown = path.length > 200 ? `${path.slice(0, 200)}…` : path;
  return reply.code(404).send(body(`no route ${request.method} ${shown}`));
}

/**
 * Node's `clientError` (a request it could not parse: headers too large, a timeout, a malformed
 * request line), answered on the socket as Fastify's default handler does, in the API's shape.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'the request took too long to arrive']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'the request line and headers are too large']
        : [400, 'the request is not valid HTTP'];
  const text = JSON.stringify(body(message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}
