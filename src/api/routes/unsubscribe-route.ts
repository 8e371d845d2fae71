import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { EventIngestor } from '../../ingest/event-ingestor.ts';
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { EmailSettings } from '../../mail/email-settings.ts';
import { readEmailPreferences } from '../../mail/email-preferences.ts';
import { isValidUnsubscribeToken, unsubscribeEventId } from '../../mail/unsubscribe-token.ts';
import { preferencesPage, unsubscribeConfirmPage, unsubscribedPage } from '../email-pages.ts';
import { errorResponse } from './error-response.ts';

export interface UnsubscribeRouteOptions {
  ingestor: EventIngestor;
  pool: pg.Pool;
  /** email.yaml of the templates version in force: the brand of the pages. */
  emailSettings: () => Promise<EmailSettings>;
  signingSecret: string;
  onSignalsQueued?: () => void;
}

const query = z.object({
  developer: z.string().min(1).max(256),
  token: z.string().min(1).max(128).describe('the signed token from the email link'),
});

const SUBMISSION = /^[0-9a-f-]{36}$/;
const preferencesForm = z.object({
  submission: z.string().regex(SUBMISSION, "must be the form's submission id").describe('the id the form was served with: a resubmitted form is recorded once'),
  all: z.literal('on').optional().describe('present: onboarding email on; absent: all of it off'),
  category: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe('each category left on (the others are turned off)'),
});

/** A browser asking for a page (not a mail client's one-click POST nor an API client). */
const wantsHtml = (accept: string | undefined) => /text\/html/.test(accept ?? '');

const linkQuery = (developer: string, token: string) => `developer=${encodeURIComponent(developer)}&token=${encodeURIComponent(token)}`;

/**
 * RFC 8058 one-click unsubscribe. The link's GET only shows a confirmation button (mail scanners
 * follow links); the POST (the mail client's one-click, or that button) records a
 * `consent.updated` revocation through the normal ingest path, so the journey hears it like any
 * other event and stops nudging; once per link, however often it is replayed.
 */
export const unsubscribeRoute: FastifyPluginAsyncZod<UnsubscribeRouteOptions> = async (app, { ingestor, pool, emailSettings, signingSecret, onSignalsQueued }) => {
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
      const query = linkQuery(developer, token);
      return reply.type('text/html; charset=utf-8').send(unsubscribeConfirmPage(await emailSettings(), `/v1/unsubscribe?${query}`, `/v1/preferences?${query}`) as never);
    },
  );

  app.post(
    '/v1/unsubscribe',
    {
      schema: {
        summary: 'One-click unsubscribe (RFC 8058): revokes email consent',
        querystring: query,
        response: {
          200: {
            description: 'unsubscribed: JSON, or for a browser (Accept: text/html) a page saying so with a link to the preference centre',
            content: { 'application/json': { schema: z.object({ unsubscribed: z.literal(true) }) }, 'text/html': { schema: z.string() } },
          },
          400: errorResponse,
        },
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
      if (wantsHtml(request.headers.accept))
        return reply.type('text/html; charset=utf-8').send(unsubscribedPage(await emailSettings(), `/v1/preferences?${linkQuery(developer, token)}`) as never);
      return { unsubscribed: true as const };
    },
  );

  app.get(
    '/v1/preferences',
    {
      config: { static: true },
      schema: {
        summary: 'Email preference centre (linked from every nudge email): all onboarding email, or category by category',
        querystring: query,
        response: { 200: { description: "the developer's choices as a form (changes nothing)", content: { 'text/html': { schema: z.string() } } }, 400: errorResponse },
      },
    },
    async (request, reply) => {
      const { developer, token } = request.query;
      if (!isValidUnsubscribeToken(signingSecret, developer, token)) return reply.code(400).send({ errors: [{ path: 'token', message: 'invalid preferences link' }] });
      const page = preferencesPage(await emailSettings(), `/v1/preferences?${linkQuery(developer, token)}`, randomUUID(), await readEmailPreferences(pool, developer), false);
      return reply.type('text/html; charset=utf-8').send(page as never);
    },
  );

  app.post(
    '/v1/preferences',
    {
      schema: {
        summary: "Saves the preference centre's form: a consent.updated with the overall choice and one per category",
        querystring: query,
        body: preferencesForm,
        response: { 200: { description: 'the form again, saying it is saved', content: { 'text/html': { schema: z.string() } } }, 400: errorResponse },
      },
    },
    async (request, reply) => {
      const { developer, token } = request.query;
      if (!isValidUnsubscribeToken(signingSecret, developer, token)) return reply.code(400).send({ errors: [{ path: 'token', message: 'invalid preferences link' }] });
      const settings = await emailSettings();
      const kept = new Set([request.body.category ?? []].flat());
      const unknown = [...kept].find((c) => !(c in settings.categories));
      if (unknown !== undefined)
        return reply.code(400).send({ errors: [{ path: 'category', message: `no category "${unknown}" (categories: ${Object.keys(settings.categories).join(', ')})` }] });
      const all = request.body.all === 'on';
      // All email off: the categories' boxes were disabled and not sent, so the choices stay as they were.
      const categories = all ? Object.fromEntries(Object.keys(settings.categories).map((id) => [id, kept.has(id) ? 'granted' : 'revoked'])) : undefined;
      const result = await ingestor.ingest([
        {
          // One event per served form: a resubmission (reload, double click) is a duplicate.
          id: `preferences:${createHash('sha256').update(`${developer}\n${request.body.submission}`).digest('base64url')}`,
          type: 'consent.updated',
          developerId: developer,
          occurredAt: new Date().toISOString(),
          properties: { email: all ? 'granted' : 'revoked', ...(categories ? { categories } : {}) },
        },
      ]);
      if (result.signals > 0) onSignalsQueued?.();
      const page = preferencesPage(settings, `/v1/preferences?${linkQuery(developer, token)}`, randomUUID(), await readEmailPreferences(pool, developer), true);
      return reply.type('text/html; charset=utf-8').send(page as never);
    },
  );
};
