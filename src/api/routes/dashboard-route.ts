import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { packagePath } from '../../package-root.ts';

const page = readFileSync(packagePath('src', 'dashboard', 'dashboard.html'), 'utf8');
const inbox = readFileSync(packagePath('src', 'dashboard', 'inbox.html'), 'utf8');
const emails = readFileSync(packagePath('src', 'dashboard', 'emails.html'), 'utf8');
// Chart.js's browser build, served from the installed package (no CDN: the page works offline).
// (The package does not export that file: found next to its CommonJS entry.)
const chartJs = readFileSync(join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js'), 'utf8');

/**
 * `/dashboard` (and `/`): the funnel, time to first call, production by cohort (per developer or
 * per organisation), SDK share, depth, first-session errors, nudges and handoffs, with the metrics
 * API's filters; the developers or organisations behind them, one organisation with its members,
 * and one developer's journey. The page holds no data: it asks for a key and reads the metrics
 * endpoints with it.
 *
 * `/dashboard/handoffs`: the agents' inbox — the queue by next deadline, one case whole (what the
 * Slack post shows), and the actions, all through the handoffs API with an agent key. `?case=`
 * opens a case (Slack's "Open case" links here), `?developer=` a developer's cases.
 *
 * `/dashboard/emails`: the nudge templates (problems, translations), how each does (sent, opened,
 * clicked, helpful, converted) and a preview of one as a developer would get it, at desktop or
 * phone width, through the templates API with the admin key.
 */
export const dashboardRoute: FastifyPluginAsync = async (app) => {
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/dashboard'));
  app.get(
    '/dashboard',
    { config: { static: true }, schema: { summary: 'The dashboard (HTML)', response: { 200: { description: 'the page', content: { 'text/html': { schema: z.string() } } } } } },
    async (_request, reply) => reply.type('text/html; charset=utf-8').send(page),
  );
  app.get(
    '/dashboard/handoffs',
    { config: { static: true }, schema: { summary: "The agents' inbox (HTML)", response: { 200: { description: 'the page', content: { 'text/html': { schema: z.string() } } } } } },
    async (_request, reply) => reply.type('text/html; charset=utf-8').send(inbox),
  );
  app.get(
    '/dashboard/emails',
    {
      config: { static: true },
      schema: { summary: 'The email templates page (HTML)', response: { 200: { description: 'the page', content: { 'text/html': { schema: z.string() } } } } },
    },
    async (_request, reply) => reply.type('text/html; charset=utf-8').send(emails),
  );
  app.get('/dashboard/chart.js', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400').send(chartJs),
  );
};
