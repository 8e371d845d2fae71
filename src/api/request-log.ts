import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { redactUrl, requestSummary } from '../logger.ts';

/**
 * fastify's request lines: one per request, at debug, when its response is sent (at error when
 * sending it failed): method, URL (secrets blanked), status and time in the message for a person,
 * and as fields for a collector. fastify's own are two lines at info (incoming request, request
 * completed), which made `info` a request log.
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const responseTime = Math.round(reply.elapsedTime * 10) / 10;
    const fields = { req: requestSummary(request), statusCode: reply.statusCode, responseTime };
    const message = `${request.method} ${redactUrl(request.url)} ${reply.statusCode} ${responseTime} ms`;
    if (error) reply.log.error({ ...fields, err: error }, message);
    else reply.log.debug(fields, message);
  }
}
