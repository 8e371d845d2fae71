import { EventWebhook, EventWebhookHeader } from '@sendgrid/eventwebhook';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type pg from 'pg';
import { z } from 'zod';
import { errorResponse } from '../../api/routes/error-response.ts';
import type { EventIngestor } from '../../ingest/event-ingestor.ts';
import { issueErrors } from '../ingest-from-source.ts';
import type { SourceStats } from '../source-stats.ts';
import { ingestReports, reportsAnswer } from './email-reports.ts';
import type { EmailReport } from './ses-notification.ts';
import { isReported, sendgridEvent, sendgridReport, sendgridReportOf } from './sendgrid-events.ts';

export interface SendgridRouteOptions {
  ingestor: EventIngestor;
  pool: pg.Pool;
  stats: SourceStats;
  /** The Event Webhook's verification key (ONRAMP_SENDGRID_WEBHOOK_PUBLIC_KEY, base64 or PEM); unset: every delivery is refused. */
  publicKey: string | undefined;
  onSignalsQueued?: (() => void) | undefined;
}

const SIGNATURE = EventWebhookHeader.SIGNATURE().toLowerCase();
const TIMESTAMP = EventWebhookHeader.TIMESTAMP().toLowerCase();

/**
 * `POST /v1/sources/sendgrid`: SendGrid's signed Event Webhook. The raw body and its timestamp
 * header are verified against the ECDSA signature header with SendGrid's `@sendgrid/eventwebhook`
 * library and the configured verification key; bounces and spam reports become events of the
 * developers they are about (sendgrid-events.ts), idempotent by `sg_event_id`; the other events
 * are acknowledged. A bounce or spam report Onramp cannot read refuses the batch (SendGrid
 * retries it), nothing stored.
 */
export const sendgridRoute: FastifyPluginAsyncZod<SendgridRouteOptions> = async (app, { ingestor, pool, stats, publicKey, onSignalsQueued }) => {
  const webhook = new EventWebhook();
  const key = publicKey ? webhook.convertPublicKeyToECDSA(publicKey) : undefined;
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_request, body, done) => done(null, body));
  app.post(
    '/v1/sources/sendgrid',
    {
      ...stats.hooks('sendgrid'),
      schema: {
        summary: 'SendGrid Event Webhook (signed): hard bounces and spam reports stop email to the developer; other events are acknowledged',
        body: z.string().describe("SendGrid's events as it sent them (a JSON array), verified against the X-Twilio-Email-Event-Webhook-Signature header"),
        response: { 200: reportsAnswer, 400: errorResponse, 401: errorResponse },
      },
    },
    async (request, reply) => {
      const refuse = (message: string) => reply.code(401).send({ errors: [{ path: EventWebhookHeader.SIGNATURE(), message }] });
      if (!key) return refuse('no SendGrid verification key is configured (ONRAMP_SENDGRID_WEBHOOK_PUBLIC_KEY)');
      const signature = header(request.headers[SIGNATURE]);
      const timestamp = header(request.headers[TIMESTAMP]);
      if (!signature || !timestamp) return refuse('a signed Event Webhook delivery carries the signature and timestamp headers');
      let verified: boolean;
      try {
        verified = webhook.verifySignature(key, request.body, signature, timestamp);
      } catch {
        verified = false; // a signature that is no DER-encoded ECDSA signature
      }
      if (!verified) return refuse('not a delivery signed with the configured verification key');
      let events: unknown;
      try {
        events = JSON.parse(request.body);
      } catch {
        return reply.code(400).send({ errors: [{ path: '', message: 'not a JSON array of SendGrid events' }] });
      }
      if (!Array.isArray(events)) return reply.code(400).send({ errors: [{ path: '', message: 'not a JSON array of SendGrid events' }] });
      const reports: EmailReport[] = [];
      for (const [i, raw] of events.entries()) {
        const kind = sendgridEvent.safeParse(raw);
        if (!kind.success) return reply.code(400).send({ errors: issueErrors(kind.error.issues, [i]) });
        if (!isReported(kind.data)) continue;
        const event = sendgridReport.safeParse(raw);
        if (!event.success) return reply.code(400).send({ errors: issueErrors(event.error.issues, [i]) });
        reports.push(sendgridReportOf(event.data));
      }
      const result = await ingestReports(request, pool, reports, { ingestor, stats, onSignalsQueued });
      if ('errors' in result) return reply.code(400).send({ errors: result.errors });
      return result.answer;
    },
  );
};

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value) ?? '';
