import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { bearerAuth, type AcceptedKeys } from '../../api/auth.ts';
import { errorResponse } from '../../api/routes/error-response.ts';
import { ingestEvent, type IngestEvent } from '../../events/event-schemas.ts';
import type { EventIngestor } from '../../ingest/event-ingestor.ts';
import { formatPath } from '../../rules/config-file.ts';
import { ingestFromSource, issueErrors } from '../ingest-from-source.ts';
import type { SourceStats } from '../source-stats.ts';
import { auth0LogRecord, recordsOf, SIGNUP_LOG_TYPES, signupFromAuth0 } from './auth0-logs.ts';

export interface Auth0RouteOptions {
  ingestor: EventIngestor;
  /** The ingest keys: the stream's Authorization Token is `Bearer <an ingest key>`. */
  ingestKeys: AcceptedKeys;
  stats: SourceStats;
  onSignalsQueued?: (() => void) | undefined;
}

const answer = z.object({
  accepted: z.int(),
  duplicates: z.int(),
  ignored: z.array(z.object({ path: z.string(), message: z.string() })).describe('signup and login records that cannot be a signup (no user id, no email), not stored'),
});

/**
 * `POST /v1/sources/auth0`: an Auth0 Custom Webhook log stream (auth0-logs.ts). A delivery is one
 * ingest batch: a record Onramp cannot read is a 400 naming it and nothing of the delivery is
 * stored (Auth0 retries it); records of other types are acknowledged and skipped.
 */
export const auth0Route: FastifyPluginAsyncZod<Auth0RouteOptions> = async (app, { ingestor, ingestKeys, stats, onSignalsQueued }) => {
  // JSON lines are no JSON document: this route reads the body itself, as a list of records
  // whatever the stream's content format (it is its own plugin scope).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(['application/json', 'application/x-ndjson', 'text/plain'], { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_request, body, done) => {
    const records = recordsOf(body as string);
    if (records) done(null, records);
    else done(Object.assign(new Error('not a JSON array, JSON lines or a JSON object of log records'), { statusCode: 400 }), undefined);
  });
  app.post(
    '/v1/sources/auth0',
    {
      onRequest: bearerAuth(ingestKeys),
      ...stats.hooks('auth0'),
      schema: {
        summary: "Auth0 log stream (Custom Webhook, JSON array or lines): successful signups and logins are developers' signups",
        body: z.array(z.unknown()).describe('the log records: a JSON array, JSON lines, or one JSON object (a list of one)'),
        response: { 200: answer, 400: errorResponse },
      },
    },
    async (request, reply) => {
      const records = request.body;
      const events: IngestEvent[] = [];
      const ignored: { path: string; message: string }[] = [];
      const errors: { path: string; message: string }[] = [];
      records.forEach((raw, i) => {
        const record = auth0LogRecord.safeParse(raw);
        if (!record.success) return errors.push(...issueErrors(record.error.issues, [i]));
        if (!SIGNUP_LOG_TYPES.has(record.data.data.type)) return;
        const signup = signupFromAuth0(record.data);
        if ('ignored' in signup) return ignored.push({ path: formatPath([i]), message: signup.ignored });
        const event = ingestEvent.safeParse(signup.event);
        if (event.success) events.push(event.data);
        else errors.push(...issueErrors(event.error.issues, [i]));
      });
      if (errors.length > 0) return reply.code(400).send({ errors });
      const result = await ingestFromSource(request, events, { ingestor, stats, onSignalsQueued });
      return { accepted: result.accepted, duplicates: result.duplicates, ignored };
    },
  );
};
