import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type pg from 'pg';
import { z } from 'zod';
import { errorResponse } from '../../api/routes/error-response.ts';
import type { EventIngestor } from '../../ingest/event-ingestor.ts';
import { issueErrors } from '../ingest-from-source.ts';
import type { SourceStats } from '../source-stats.ts';
import { ingestReports, reportsAnswer } from './email-reports.ts';
import { sesNotification, sesReports } from './ses-notification.ts';
import { confirmSubscription, isSnsUrl, snsEnvelope, snsVerifier, type SnsTrust } from './sns-message.ts';

export interface SesRouteOptions {
  ingestor: EventIngestor;
  pool: pg.Pool;
  stats: SourceStats;
  /** Hosts trusted beside SNS's own for certificates and subscription links (ONRAMP_SNS_CERT_HOSTS). */
  sns: SnsTrust;
  /** The SNS topics whose deliveries are taken (ONRAMP_SES_TOPIC_ARNS); empty: any topic. */
  topicArns: readonly string[];
  onSignalsQueued?: (() => void) | undefined;
}

const answer = reportsAnswer.extend({
  confirmed: z.boolean().optional().describe('a SubscriptionConfirmation: the subscription was confirmed (its SubscribeURL fetched)'),
});

/**
 * `POST /v1/sources/ses`: an SNS HTTP/S subscription to the topic Amazon SES publishes bounces and
 * complaints to. The body (SNS sends it as text/plain) is verified against its SNS signature
 * before anything else is read (sns-message.ts): no key, the signature is the proof. A
 * SubscriptionConfirmation is confirmed by fetching its SubscribeURL (only on SNS's hosts); a
 * Notification's SES bounces and complaints become events of the developers they are about,
 * idempotent by the SNS MessageId (SNS retries keep it); deliveries and unsubscribe confirmations
 * are acknowledged.
 */
export const sesRoute: FastifyPluginAsyncZod<SesRouteOptions> = async (app, { ingestor, pool, stats, sns, topicArns, onSignalsQueued }) => {
  const verify = snsVerifier(sns);
  // The signature covers the fields as sent; SNS posts text/plain (its own scope: the app takes JSON only).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string', bodyLimit: 512 * 1024 }, (_request, body, done) => done(null, body));
  app.post(
    '/v1/sources/ses',
    {
      ...stats.hooks('ses'),
      schema: {
        summary: 'Amazon SES bounces and complaints through an SNS HTTPS subscription (SNS-signed): hard bounces and complaints stop email to the developer',
        body: z.string().describe('the SNS message as SNS sent it (JSON, sent as text/plain), verified against its Signature'),
        response: { 200: answer, 400: errorResponse, 403: errorResponse, 502: errorResponse },
      },
    },
    async (request, reply) => {
      let raw: unknown;
      try {
        raw = JSON.parse(request.body);
      } catch {
        return reply.code(400).send({ errors: [{ path: '', message: 'not a JSON SNS message' }] });
      }
      const envelope = snsEnvelope.safeParse(raw);
      if (!envelope.success) return reply.code(400).send({ errors: issueErrors(envelope.error.issues) });
      const message = envelope.data;
      try {
        await verify(message);
      } catch (error) {
        return reply.code(403).send({ errors: [{ path: 'Signature', message: `not a message signed by Amazon SNS: ${(error as Error).message}` }] });
      }
      if (topicArns.length > 0 && !topicArns.includes(message.TopicArn)) {
        return reply.code(403).send({ errors: [{ path: 'TopicArn', message: `${message.TopicArn} is not a topic this endpoint takes (ONRAMP_SES_TOPIC_ARNS)` }] });
      }
      if (message.Type === 'SubscriptionConfirmation') {
        if (!message.SubscribeURL || !isSnsUrl(message.SubscribeURL, sns)) {
          return reply.code(400).send({ errors: [{ path: 'SubscribeURL', message: 'must be an https URL on sns.<region>.amazonaws.com' }] });
        }
        try {
          await confirmSubscription(message.SubscribeURL);
        } catch (error) {
          return reply.code(502).send({ errors: [{ path: 'SubscribeURL', message: `the subscription could not be confirmed: ${(error as Error).message}` }] });
        }
        request.log.info({ topicArn: message.TopicArn }, 'SNS subscription confirmed');
        return { accepted: 0, duplicates: 0, unmatched: 0, confirmed: true };
      }
      if (message.Type === 'UnsubscribeConfirmation') return { accepted: 0, duplicates: 0, unmatched: 0 };
      let content: unknown;
      try {
        content = JSON.parse(message.Message);
      } catch {
        return reply.code(400).send({ errors: [{ path: 'Message', message: 'not an Amazon SES notification (JSON)' }] });
      }
      const notification = sesNotification.safeParse(content);
      if (!notification.success) return reply.code(400).send({ errors: issueErrors(notification.error.issues, ['Message']) });
      const result = await ingestReports(request, pool, sesReports(message.MessageId, notification.data), { ingestor, stats, onSignalsQueued });
      if ('errors' in result) return reply.code(400).send({ errors: result.errors });
      return result.answer;
    },
  );
};
