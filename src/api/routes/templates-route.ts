import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type pg from 'pg';
import { z } from 'zod';
import { followedFunnel } from '../../funnel/followed-funnel.ts';
import { stageLabel, type ReadFunnelInForce } from '../../funnel/funnel-in-force.ts';
import { DEFAULT_SENDER } from '../../mail/email-settings.ts';
import { TemplateNotSendable } from '../../mail/email-templates.ts';
import { TEMPLATE_FILE_PATH } from '../../mail/template-files.ts';
import type { TemplateStore, TemplateVersionSummary } from '../../mail/template-store.ts';
import type { TemplatesInForceCache } from '../../mail/templates-in-force.ts';
import { renderNudgeEmail, type NudgeRecipient } from '../../mail/nudge-email.ts';
import { localeTag } from '../../events/profile-fields.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';

export interface TemplatesRouteOptions {
  pool: pg.Pool;
  /** The templates version in force, which emails are rendered from. */
  templates: TemplatesInForceCache;
  store: TemplateStore;
  funnel: ReadFunnelInForce;
  /** What the worker's emails link to and are sent from (ONRAMP_PUBLIC_URL, ONRAMP_DOCS_URL, ONRAMP_MAIL_FROM). */
  emails: { publicUrl: string; docsUrl: string; from?: string | undefined };
  signingSecret: string;
  adminKeys: readonly string[];
}

const problem = z.object({
  file: z.string().describe('relative to the templates folder: `first-call-help/fr/html.hbs`, `email.yaml`'),
  message: z.string(),
  line: z.number().int().optional(),
  column: z.number().int().optional(),
});

const versionSummary = z.object({
  version: z.int(),
  contentHash: z.string().describe('SHA-256 of the files, hex'),
  author: z.string(),
  reason: z.string(),
  createdAt: z.string().describe('ISO-8601 instant'),
  diff: z.string().describe('a unified diff per file changed since the previous version'),
});

const files = z
  .record(z.string().regex(TEMPLATE_FILE_PATH, 'must be email.yaml or <template>/[<locale>/]subject.hbs|text.hbs|html.hbs|template.yaml'), z.string().max(256 * 1024))
  .describe('every file of the templates folder by its relative path (what `onramp templates apply` reads from the folder)');

const summaryOf = (v: TemplateVersionSummary) => ({
  version: v.version,
  contentHash: v.contentHash,
  author: v.author,
  reason: v.reason,
  createdAt: v.createdAt.toISOString(),
  diff: v.diff,
});

/** A refused request's error: the body field (`files["first-call-help/html.hbs"]`), and for a problem in the files, its file and position. */
const fileError = problem.partial({ file: true }).extend({ path: z.string().describe('the body field: `files["<file>"]`, `files` for the folder as a whole, or another field') });

/** Who a preview without a developer is for: a made-up developer, so a template can be looked at before anyone signs up. */
const SAMPLE: NudgeRecipient & { stage: string } = {
  id: 'dev_sample',
  name: 'Ada Lovelace',
  locale: null,
  accountType: 'individual',
  channel: 'organic_search',
  stage: 'credential_provisioned',
};

/**
 * The nudge templates as the worker sends them (the version in force): list and check them, render
 * one for a developer, change them (a new version), their history. Admin key.
 */
export const templatesRoute: FastifyPluginAsyncZod<TemplatesRouteOptions> = async (app, { pool, templates: inForce, store, funnel, emails, signingSecret, adminKeys }) => {
  const onRequest = bearerAuth(adminKeys);
  const security = [{ bearer: [] }];

  app.get(
    '/v1/templates',
    {
      onRequest,
      schema: {
        summary: 'The nudge templates in force: their version, each with its translations, the categories, and every problem that would stop a send',
        security,
        response: {
          200: z.object({
            version: z.int().nullable().describe('the templates version in force; null before the first is stored (the folder is read)'),
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
      const { version, templates } = await inForce.read();
      const problems = templates.problems();
      const settings = problems.some((p) => p.file === 'email.yaml') ? null : templates.settings();
      return {
        version,
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
            templateVersion: z.int().nullable().describe('the templates version rendered (the one in force)'),
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
      const { version, templates } = await inForce.read();
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
          templateVersion: version,
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

  app.put(
    '/v1/templates',
    {
      onRequest,
      schema: {
        summary: 'Replace the templates: the whole folder, checked, stored as the next version with author, reason and a diff per file',
        description:
          'Refused whole (400, every problem with its file and line) when any template cannot be sent, or when the rules in force send a template the files lack; the version in force stays. Files identical to the version in force store nothing: 200 with that version and `created: false`. The worker sends from the new version within 2 seconds.',
        security,
        body: z.strictObject({
          files,
          author: z.string().max(200).regex(/\S/, 'must not be blank').trim().describe('who makes the change'),
          reason: z.string().max(2000).regex(/\S/, 'must not be blank').trim().describe('why'),
        }),
        response: {
          200: versionSummary.extend({ created: z.boolean() }),
          201: versionSummary.extend({ created: z.boolean() }),
          400: z.object({ errors: z.array(fileError) }),
          401: errorResponse,
        },
      },
    },
    async (request, reply) => {
      const applied = await store.apply(request.body);
      if (!applied.ok) {
        const given = request.body.files;
        const errors = applied.errors.map((p) => ({ path: Object.hasOwn(given, p.file) ? `files[${JSON.stringify(p.file)}]` : 'files', ...p }));
        return reply.code(400).send({ errors });
      }
      if (applied.created) await inForce.refresh();
      return reply.code(applied.created ? 201 : 200).send({ ...summaryOf(applied.version), created: applied.created });
    },
  );

  app.get(
    '/v1/templates/history',
    {
      onRequest,
      schema: {
        summary: 'Every templates version, newest first (without the files)',
        security,
        response: { 200: z.object({ versions: z.array(versionSummary) }), 401: errorResponse },
      },
    },
    async () => ({ versions: (await store.history()).map(summaryOf) }),
  );

  app.get(
    '/v1/templates/versions/:version',
    {
      onRequest,
      schema: {
        summary: 'One templates version: its files and its diff against the previous one',
        security,
        params: z.object({ version: z.coerce.number().int().min(1).max(2_147_483_647) }),
        response: { 200: versionSummary.extend({ files: z.record(z.string(), z.string()) }), 401: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) => {
      const version = await store.get(request.params.version);
      if (!version) return reply.code(404).send({ errors: [{ path: 'version', message: `no templates version ${request.params.version}` }] });
      return { ...summaryOf(version), files: version.files };
    },
  );
};
