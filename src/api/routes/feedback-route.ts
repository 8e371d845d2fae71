import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type pg from 'pg';
import { z } from 'zod';
import type { EventIngestor } from '../../ingest/event-ingestor.ts';
import { recordEmailFeedback } from '../../ingest/record-email-engagement.ts';
import type { EmailSettings } from '../../mail/email-settings.ts';
import { readFeedbackToken } from '../../mail/tracking/feedback-token.ts';
import { feedbackAskPage, feedbackThanksPage } from '../email-pages.ts';
import { errorResponse } from './error-response.ts';

export interface FeedbackRouteOptions {
  pool: pg.Pool;
  ingestor: EventIngestor;
  /** email.yaml of the templates version in force: the brand of the pages. */
  emailSettings: () => Promise<EmailSettings>;
  signingSecret: string;
  onSignalsQueued?: () => void;
}

const params = z.object({ token: z.string().min(1).max(2048).describe("the signed token of the email's feedback links") });
const answer = z.enum(['yes', 'no']);
const page = { description: 'a page in the brand: thanks, or (a link a scanner may have followed) the question with buttons', content: { 'text/html': { schema: z.string() } } };

/**
 * The footer's "Was this email helpful? Yes · No": one click records `email.feedback` (one answer
 * per email). A follow that looks like a link scanner's records nothing and shows the question with
 * buttons, whose POST is a person's answer.
 */
export const feedbackRoute: FastifyPluginAsyncZod<FeedbackRouteOptions> = async (app, { pool, ingestor, emailSettings, signingSecret, onSignalsQueued }) => {
  await app.register(formbody);

  const answerWith = async (token: string, helpful: boolean, userAgent: string | undefined, confirmed: boolean) => {
    const target = readFeedbackToken(signingSecret, token);
    if (!target) return { status: 400 as const, body: { errors: [{ path: 'token', message: 'invalid feedback link' }] } };
    const result = await recordEmailFeedback(pool, ingestor, { target, userAgent, at: new Date(), helpful, confirmed });
    if (!result) return { status: 404 as const, body: { errors: [{ path: 'token', message: 'this email no longer exists' }] } };
    if (result.signals > 0) onSignalsQueued?.();
    const settings = await emailSettings();
    return { status: 200 as const, html: result.recorded ? feedbackThanksPage(settings, helpful) : feedbackAskPage(settings, `/v1/feedback/${encodeURIComponent(token)}`) };
  };

  app.get(
    '/v1/feedback/:token',
    {
      config: { static: true },
      schema: {
        summary: 'A "was this helpful?" link of a nudge email: records the answer (email.feedback), once per email',
        params,
        querystring: z.object({ answer }),
        response: { 200: page, 400: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) => {
      const answered = await answerWith(request.params.token, request.query.answer === 'yes', request.headers['user-agent'], false);
      if (answered.status !== 200) return reply.code(answered.status).send(answered.body);
      return reply
        .header('cache-control', 'no-store, private')
        .type('text/html; charset=utf-8')
        .send(answered.html as never);
    },
  );

  app.post(
    '/v1/feedback/:token',
    {
      schema: {
        summary: 'The answer given with the feedback page’s buttons (form-encoded `answer`)',
        params,
        body: z.object({ answer }),
        response: { 200: page, 400: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) => {
      const answered = await answerWith(request.params.token, request.body.answer === 'yes', request.headers['user-agent'], true);
      if (answered.status !== 200) return reply.code(answered.status).send(answered.body);
      return reply.type('text/html; charset=utf-8').send(answered.html as never);
    },
  );
};
