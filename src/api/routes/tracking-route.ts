import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type pg from 'pg';
import { z } from 'zod';
import type { EventIngestor } from '../../ingest/event-ingestor.ts';
import { recordEmailEngagement } from '../../ingest/record-email-engagement.ts';
import { readTrackingToken } from '../../mail/tracking/tracking-token.ts';
import { errorResponse } from './error-response.ts';

export interface TrackingRouteOptions {
  pool: pg.Pool;
  ingestor: EventIngestor;
  signingSecret: string;
  onSignalsQueued?: () => void;
}

/** A transparent 1×1 GIF. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const params = z.object({ token: z.string().min(1).max(2048).describe('the signed token of the tracked email (and link)') });

/**
 * The open pixel and the click redirect of tracked nudge emails (src/mail/tracking/, src/ingest/record-email-engagement.ts). No key: the
 * token is signed, names the email and the link, and the redirect goes only to the URL stored with
 * the sent email, never one from the request.
 */
export const trackingRoute: FastifyPluginAsyncZod<TrackingRouteOptions> = async (app, { pool, ingestor, signingSecret, onSignalsQueued }) => {
  app.get(
    '/v1/t/o/:token',
    {
      schema: {
        summary: 'Open pixel of a tracked email: records email.opened, answers a 1×1 GIF whatever the token',
        params,
        response: { 200: { description: 'a transparent 1×1 GIF', content: { 'image/gif': { schema: z.string() } } } },
      },
    },
    async (request, reply) => {
      const target = readTrackingToken(signingSecret, request.params.token);
      // The image is the answer for a bad token too: a mail client shows no broken image.
      if (target && target.link === undefined) {
        const recorded = await recordEmailEngagement(pool, ingestor, { target, userAgent: request.headers['user-agent'], at: new Date() });
        if (recorded && recorded.signals > 0) onSignalsQueued?.();
      }
      return reply
        .header('cache-control', 'no-store, private')
        .type('image/gif')
        .send(PIXEL as never);
    },
  );

  app.get(
    '/v1/t/c/:token',
    {
      schema: {
        summary: 'Click-tracking redirect of a tracked email: records email.clicked, redirects to the link the email was sent with',
        params,
        response: {
          302: {
            description: 'to the link as the template rendered it (Location)',
            headers: z.object({ location: z.string() }),
            content: { 'text/plain': { schema: z.string() } },
          },
          400: errorResponse,
          404: errorResponse,
        },
      },
    },
    async (request, reply) => {
      const target = readTrackingToken(signingSecret, request.params.token);
      if (target?.link === undefined) return reply.code(400).send({ errors: [{ path: 'token', message: 'invalid tracking link' }] });
      const recorded = await recordEmailEngagement(pool, ingestor, { target, userAgent: request.headers['user-agent'], at: new Date() });
      const url = recorded?.links[target.link];
      if (url === undefined) return reply.code(404).send({ errors: [{ path: 'token', message: 'this email or link no longer exists' }] });
      if (recorded!.signals > 0) onSignalsQueued?.();
      return reply.header('cache-control', 'no-store, private').redirect(url, 302);
    },
  );
};
