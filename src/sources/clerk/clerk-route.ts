import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Webhook, WebhookVerificationError } from 'svix';
import { z } from 'zod';
import { errorResponse } from '../../api/routes/error-response.ts';
import { ingestEvent } from '../../events/event-schemas.ts';
import type { EventIngestor } from '../../ingest/event-ingestor.ts';
import { ingestFromSource, issueErrors } from '../ingest-from-source.ts';
import type { SourceStats } from '../source-stats.ts';
import { clerkUserCreated, signupFromClerkUser } from './clerk-user.ts';

export interface ClerkRouteOptions {
  ingestor: EventIngestor;
  /** The endpoint's signing secret in Clerk's dashboard (`whsec_…`, ONRAMP_CLERK_WEBHOOK_SECRET); unset: every delivery is refused. */
  signingSecret: string | undefined;
  stats: SourceStats;
  onSignalsQueued?: (() => void) | undefined;
}

const accepted = z.object({ accepted: z.int(), duplicates: z.int() });

/**
 * `POST /v1/sources/clerk`: Clerk's webhooks, delivered by Svix and verified with the `svix`
 * library over the raw body (its `svix-id`, `svix-timestamp` and `svix-signature` headers; a
 * timestamp more than five minutes off is refused, so a captured delivery cannot be replayed).
 * `user.created` becomes the developer's `developer.signed_up` (clerk-user.ts), idempotent by the
 * Svix message id; other event types are acknowledged and ignored, so Svix does not retry them.
 */
export const clerkRoute: FastifyPluginAsyncZod<ClerkRouteOptions> = async (app, { ingestor, signingSecret, stats, onSignalsQueued }) => {
  const webhook = signingSecret ? new Webhook(signingSecret) : undefined;
  // The signature covers the bytes Clerk sent: this route keeps them (it is its own plugin scope).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 256 * 1024 }, (_request, body, done) => done(null, body));
  app.post(
    '/v1/sources/clerk',
    {
      ...stats.hooks('clerk'),
      schema: {
        summary: "Clerk webhooks (Svix-signed): user.created is the developer's signup; other types are acknowledged and ignored",
        body: z.string().describe("Clerk's event as it sent it (JSON), verified against the svix-signature header"),
        response: { 200: accepted, 400: errorResponse, 401: errorResponse },
      },
    },
    async (request, reply) => {
      if (!webhook) return reply.code(401).send({ errors: [{ path: 'svix-signature', message: 'no Clerk signing secret is configured (ONRAMP_CLERK_WEBHOOK_SECRET)' }] });
      const headers = {
        'svix-id': header(request.headers['svix-id']),
        'svix-timestamp': header(request.headers['svix-timestamp']),
        'svix-signature': header(request.headers['svix-signature']),
      };
      try {
        webhook.verify(request.body, headers);
      } catch (error) {
        if (!(error instanceof WebhookVerificationError)) throw error;
        return reply.code(401).send({ errors: [{ path: 'svix-signature', message: `not a delivery signed with the configured secret: ${error.message}` }] });
      }
      const payload = JSON.parse(request.body) as { type?: unknown };
      if (payload.type !== 'user.created') return { accepted: 0, duplicates: 0 };
      const user = clerkUserCreated.safeParse(payload);
      const event = user.success ? ingestEvent.safeParse(signupFromClerkUser(headers['svix-id'], user.data)) : undefined;
      const issues = !user.success ? user.error.issues : event && !event.success ? event.error.issues : [];
      if (issues.length > 0 || !event?.success) {
        return reply.code(400).send({ errors: issueErrors(issues) });
      }
      const result = await ingestFromSource(request, [event.data], { ingestor, stats, onSignalsQueued });
      return { accepted: result.accepted, duplicates: result.duplicates };
    },
  );
};

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value) ?? '';
