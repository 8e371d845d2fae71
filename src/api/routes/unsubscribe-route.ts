import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { EventIngestor } from '../../ingest/event-ingestor.ts';
import { isValidUnsubscribeToken, unsubscribeEventId } from '../../mail/unsubscribe-token.ts';
import { errorResponse } from './error-response.ts';

export interface UnsubscribeRouteOptions {
  ingestor: EventIngestor;
  signingSecret: string;
  onSignalsQueued?: () => void;
}

const query = z.object({
  developer: z.string().min(1).max(256),
  token: z.string().min(1).max(128).describe('the signed token from the email link'),
});

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * RFC 8058 one-click unsubscribe. The link's GET only shows a confirmation button (mail scanners
 * follow links); the POST (the mail client's one-click, or that button) records a
 * `consent.updated` revocation through the normal ingest path, so the journey hears it like any
 * other event and stops nudging; once per link, however often it is replayed.
 */
export const unsubscribeRoute: FastifyPluginAsyncZod<UnsubscribeRouteOptions> = async (app, { ingestor, signingSecret, onSignalsQueued }) => {
  await app.register(formbody);

  app.get(
    '/v1/unsubscribe',
    {
      config: { static: true },
      schema: {
        summary: 'Unsubscribe confirmation page (the link in nudge emails)',
        querystring: query,
        response: { 200: { description: 'a page with the Unsubscribe button (changes nothing)', content: { 'text/html': { schema: z.string() } } }, 400: errorResponse },
      },
    },
    async (request, reply) => {
      const { developer, token } = request.query;
      if (!isValidUnsubscribeToken(signingSecret, developer, token)) return reply.code(400).send({ errors: [{ path: 'token', message: 'invalid unsubscribe link' }] });
      const action = `/v1/unsubscribe?developer=${encodeURIComponent(developer)}&token=${encodeURIComponent(token)}`;
      return reply
        .type('text/html; charset=utf-8')
        .send(
          `<!doctype html><html><body><form method="post" action="${escapeHtml(action)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><p>Stop onboarding emails?</p><button type="submit">Unsubscribe</button></form></body></html>` as never,
        );
    },
  );

  app.post(
    '/v1/unsubscribe',
    {
      schema: {
        summary: 'One-click unsubscribe (RFC 8058): revokes email consent',
        querystring: query,
        response: { 200: z.object({ unsubscribed: z.literal(true) }), 400: errorResponse },
      },
    },
    async (request, reply) => {
      const { developer, token } = request.query;
      if (!isValidUnsubscribeToken(signingSecret, developer, token)) return reply.code(400).send({ errors: [{ path: 'token', message: 'invalid unsubscribe link' }] });
      const now = new Date();
      // Idempotent per link: a replay is a duplicate of the first use (stored once, heard once).
      const result = await ingestor.ingest([
        { id: unsubscribeEventId(developer, token), type: 'consent.updated', developerId: developer, occurredAt: now.toISOString(), properties: { email: 'revoked' } },
      ]);
      if (result.signals > 0) onSignalsQueued?.();
      return { unsubscribed: true as const };
    },
  );
};
