import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type pg from 'pg';
import { z } from 'zod';
import { followedFunnel } from '../../funnel/followed-funnel.ts';
import { stageLabel, type ReadFunnelInForce } from '../../funnel/funnel-in-force.ts';
import { DEFAULT_SENDER } from '../../mail/email-settings.ts';
import { EmailTemplates, TemplateNotSendable } from '../../mail/email-templates.ts';
import { renderNudgeEmail, type NudgeRecipient } from '../../mail/nudge-email.ts';
import { localeTag } from '../../events/profile-fields.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';

export interface TemplatesRouteOptions {
  pool: pg.Pool;
  templates: EmailTemplates;
  funnel: ReadFunnelInForce;
  /** What the worker's emails link to and are sent from (ONRAMP_PUBLIC_URL, ONRAMP_DOCS_URL, ONRAMP_MAIL_FROM). */
  emails: { publicUrl: string; docsUrl: string; from?: string | undefined };
  signingSecret: string;
  adminKeys: readonly string[];
}

const problem = z.object({ file: z.string(), message: z.string(), line: z.number().int().optional(), column: z.number().int().optional() });

/** Who a preview without a developer is for: a made-up developer, so a template can be looked at before anyone signs up. */
const SAMPLE: NudgeRecipient & { stage: string } = {
  id: 'dev_sample',
  name: 'Ada Lovelace',
  locale: null,
  accountType: 'individual',
  channel: 'organic_search',
  stage: 'credential_provisioned',
};

/** The nudge templates as the worker will send them: list and check them, and render one for a developer. Admin key. */
export const templatesRoute: FastifyPluginAsyncZod<TemplatesRouteOptions> = async (app, { pool, templates, funnel, emails, signingSecret, adminKeys }) => {
  const onRequest = bearerAuth(adminKeys);
  const security = [{ bearer: [] }];

  app.get(
    '/v1/templates',
    {
      onRequest,
      schema: {
        summary: 'The nudge templates (ONRAMP_TEMPLATES_DIR): each with its category and translations, and every problem that would stop a send',
        security,
        response: {
          200: z.object({
            templates: z.array(z.object({ name: z.string(), locales: z.array(z.string()).describe('translations besides the default locale') })),
            categories: z.record(z.string(), z.object({ label: z.string(), description: z.string().optional() })),
            defaultLocale: z.string(),
            problems: z.array(problem).describe('empty when every template can be sent'),
          }),
          401: errorResponse,
        },
      },
    },
    async () => {
      const problems = templates.problems();
      const settings = problems.some((p) => p.file === 'email.yaml') ? null : templates.settings();
      return {
        templates: [...templates.names()].sort().map((name) => ({ name, locales: templates.locales(name) })),
        categories: settings?.categories ?? {},
        defaultLocale: settings?.defaultLocale ?? 'en',
        problems,
      };
    },
  );

  app.get(
    '/v1/templates/:name/preview',
    {
      onRequest,
      schema: {
        summary: 'Renders a template as one developer would get it now (their name, locale, stage), or for a sample developer; sends nothing',
        description:
          'Links are the real ones (the developer’s signed unsubscribe and preference links), untracked. `endpoint`, `status` and `count` fill an error-burst template’s variables.',
        security,
        params: z.object({ name: z.string().max(100) }),
        querystring: z.object({
          developer: z.string().min(1).max(256).optional().describe('whose data to use; default: a sample developer'),
          locale: localeTag.optional().describe("render this translation instead of the developer's locale"),
          endpoint: z.string().max(512).optional(),
          status: z.coerce.number().int().min(100).max(599).optional(),
          count: z.coerce.number().int().min(0).optional(),
        }),
        response: {
          200: z.object({
            template: z.string(),
            developerId: z.string(),
            locale: z.string().describe('the translation rendered'),
            category: z.string(),
            from: z.string(),
            subject: z.string(),
            text: z.string(),
            html: z.string(),
          }),
          400: errorResponse,
          401: errorResponse,
          404: errorResponse,
        },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const { developer: developerId, locale, endpoint, status, count } = request.query;
      if (!templates.names().has(name))
        return reply.code(404).send({ errors: [{ path: 'name', message: `no template "${name}" (templates: ${[...templates.names()].sort().join(', ') || 'none'})` }] });
      let recipient = SAMPLE;
      if (developerId !== undefined) {
        const [row] = (
          await pool.query<{ name: string | null; locale: string | null; account_type: string | null; acquisition_channel: string | null; stage: string | null }>(
            'SELECT name, locale, account_type, acquisition_channel, stage FROM developers WHERE id = $1',
            [developerId],
          )
        ).rows;
        if (!row) return reply.code(404).send({ errors: [{ path: 'developer', message: `no developer "${developerId}"` }] });
        recipient = { id: developerId, name: row.name, locale: row.locale, accountType: row.account_type, channel: row.acquisition_channel, stage: row.stage ?? SAMPLE.stage };
      }
      const followed = developerId === undefined ? await funnel() : await followedFunnel(pool, developerId, funnel);
      try {
        const email = await renderNudgeEmail(
          templates,
          {
            recipient: { ...recipient, locale: locale ?? recipient.locale },
            template: name,
            stage: recipient.stage,
            stageLabel: stageLabel(followed.document, recipient.stage),
            burst: { endpoint: endpoint ?? '/v1/example', status: status ?? 400, count: count ?? 5 },
            // No email row has this id: its feedback links lead to a 404, never to a recorded answer.
            emailId: `${recipient.id}/preview:${name}`,
          },
          { publicUrl: emails.publicUrl, signingSecret, docsUrl: emails.docsUrl },
        );
        return {
          template: name,
          developerId: recipient.id,
          locale: email.locale,
          category: email.category,
          from: emails.from ?? templates.settings().brand.from ?? DEFAULT_SENDER,
          subject: email.subject,
          text: email.text,
          html: email.html,
        };
      } catch (error) {
        if (!(error instanceof TemplateNotSendable)) throw error;
        return reply.code(400).send({ errors: [{ path: 'name', message: error.message }] });
      }
    },
  );
};
