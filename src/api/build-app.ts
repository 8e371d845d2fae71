import swagger from '@fastify/swagger';
import type { Client } from '@temporalio/client';
import { requestSummary } from '../logger.ts';
import { RequestLog } from './request-log.ts';
import Fastify from 'fastify';
import { resolve } from 'node:path';
import { TemplateStore } from '../mail/template-store.ts';
import { TemplatesInForceCache } from '../mail/templates-in-force.ts';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { createEventIngestor, type EventIngestor } from '../ingest/event-ingestor.ts';
import { errorHandler } from './error-handler.ts';
import { clientErrorHandler, frameworkErrors, notFound } from './framework-errors.ts';
import { strictJsonBodies } from './json-body.ts';
import { refuseUnstorableParameters } from './storable-text.ts';
import { documentCommonStatuses, methodNotAllowed, openApiTransform } from './openapi-conventions.ts';
import { escalationPolicyRoute } from './routes/escalation-policy-route.ts';
import { eventsRoute } from './routes/events-route.ts';
import { eventTypesRoute } from './routes/event-types-route.ts';
import { funnelRoute } from './routes/funnel-route.ts';
import { importRoute } from './routes/import-route.ts';
import { handoffsRoute } from './routes/handoffs-route.ts';
import { healthRoute } from './routes/health-route.ts';
import { journeyRoute } from './routes/journey-route.ts';
import { messagesRoute } from './routes/messages-route.ts';
import { experimentMetricsRoute } from './routes/experiment-metrics-route.ts';
import { metricsRoute } from './routes/metrics-route.ts';
import { organizationsRoute } from './routes/organizations-route.ts';
import { outcomeMetricsRoute } from './routes/outcome-metrics-route.ts';
import { prometheusRoute } from './routes/prometheus-route.ts';
import { dashboardRoute } from './routes/dashboard-route.ts';
import { rulesRoute } from './routes/rules-route.ts';
import { slackRoute } from './routes/slack-route.ts';
import { webhooksRoute } from './routes/webhooks-route.ts';
import { WebhookStore } from '../webhooks/webhook-store.ts';
import { unsubscribeRoute } from './routes/unsubscribe-route.ts';
import { templatesRoute } from './routes/templates-route.ts';
import { feedbackRoute } from './routes/feedback-route.ts';
import { changesRoute } from './routes/changes-route.ts';
import { trackingRoute } from './routes/tracking-route.ts';
import { usageMetricsRoute } from './routes/usage-metrics-route.ts';
import type { SlackGateway } from '../slack/slack-gateway.ts';
import { createAgentKeyStore, createIngestKeyStore } from '../keys/key-kinds.ts';
import { EscalationPolicyStore } from '../rules/escalation-policy-store.ts';
import { DEFAULT_STALLS, frictionsOf } from '../rules/escalation-policy-schema.ts';
import { RiskModels, risksOf } from '../metrics/stagnation-risk-query.ts';
import { anyOf, type AcceptedKeys } from './auth.ts';
import { auditRoute } from './routes/audit-route.ts';
import { developerDeletionRoute } from './routes/developer-deletion-route.ts';
import { ingestKeysRoute } from './routes/ingest-keys-route.ts';
import { agentKeysRoute } from './routes/agent-keys-route.ts';
import { RuleStore } from '../rules/rule-store.ts';
import type { ReadFunnelInForce } from '../funnel/funnel-in-force.ts';
import { FunnelStore } from '../funnel/funnel-store.ts';
import { FunnelRecomputer } from '../ingest/funnel-recomputation.ts';
import { readSegmentMapping, type SegmentMapping } from '../sources/segment/segment-mapping.ts';
import { clerkRoute } from '../sources/clerk/clerk-route.ts';
import { auth0Route } from '../sources/auth0/auth0-route.ts';
import { sesRoute } from '../sources/email-events/ses-route.ts';
import { sendgridRoute } from '../sources/email-events/sendgrid-route.ts';
import { segmentRoute } from '../sources/segment/segment-route.ts';
import { kongRoute } from '../sources/kong/kong-route.ts';
import { firehoseRoute } from '../sources/aws-firehose/firehose-route.ts';
import { SourceStats, type SourceStatsOptions } from '../sources/source-stats.ts';
import { sourcesRoute } from './routes/sources-route.ts';
import { alertsConfigRoute, firedAlertsRoute } from './routes/alerts-route.ts';
import { AlertsStore } from '../rules/alerts-store.ts';

export interface AppDeps {
  db: Database;
  /**
   * Where the metrics endpoints (/v1/metrics/…, /v1/developers, /v1/organizations…) and the
   * stagnation-risk curves read: a read replica (ONRAMP_METRICS_DATABASE_URL), so that their scans
   * leave the primary to the ingest and the journeys; default `db`. They never write.
   */
  metricsDb?: Database;
  temporal: Client;
  logger: Logger;
  ingestKeys: readonly string[];
  /** Keys for the admin endpoints (rules, escalation policy, funnel, alerts); empty: they answer 401 to everyone. */
  adminKeys: readonly string[];
  /** Keys for the handoff endpoints besides the admin keys (ONRAMP_AGENT_KEY). */
  agentKeys?: readonly string[];
  /** User agents counted as SDKs beside the shipped patterns (ONRAMP_SDK_USER_AGENTS). */
  sdkUserAgents?: readonly RegExp[];
  /** Read-only keys for the metrics endpoints besides the admin keys (ONRAMP_METRICS_KEY). */
  metricsKeys?: readonly string[];
  /** Verifies the unsubscribe and tracking links in nudge emails (the worker signs them with the same secret). */
  signingSecret: string;
  /** Slack interactions: the signing secret (unset: /slack/interactions answers 404) and the client for replies. */
  slack?: { signingSecret?: string; gateway?: SlackGateway; publicUrl?: string };
  onSignalsQueued?: () => void;
  /** The ingestor the routes store events with; default: one on this app's rules and SDK user agents. */
  ingestor?: EventIngestor;
  /** How long an API process reuses a stored ingest or agent key's lookup (a revocation takes this long at most). */
  keyCacheMs?: number;
  /** The nudge templates' folder (ONRAMP_TEMPLATES_DIR, default `templates`), read until a templates version is stored. */
  templatesDir?: string;
  /** What the worker's emails link to and are sent from, for template previews (ONRAMP_PUBLIC_URL, ONRAMP_DOCS_URL, ONRAMP_MAIL_FROM). */
  emails?: { publicUrl: string; docsUrl: string; from?: string | undefined };
  /** Which Segment calls are which Onramp events (ONRAMP_SEGMENT_MAPPING); default: the shipped config/segment.yaml. */
  segmentMapping?: SegmentMapping;
  /** The Clerk webhook endpoint's signing secret (ONRAMP_CLERK_WEBHOOK_SECRET); unset: /v1/sources/clerk refuses every delivery. */
  clerkSigningSecret?: string | undefined;
  /** Email provider events: SendGrid's verification key (unset: /v1/sources/sendgrid refuses every delivery), the SNS topics taken (empty: any) and hosts trusted beside SNS's own (tests). */
  emailEvents?: { sendgridPublicKey?: string | undefined; sesTopicArns?: readonly string[]; snsCertHosts?: readonly string[] };
  /** The funnel in force: the stages, order, labels and roles the metrics, the dashboard's data and /metrics follow. */
  funnel: ReadFunnelInForce;
  /** Outgoing webhooks: the private addresses a receiver may have (ONRAMP_WEBHOOK_ALLOWED_ADDRESSES), and who to wake when a redelivery is queued. */
  webhooks?: { allowedAddresses?: readonly string[]; onQueued?: () => void };
  /** Data quality (GET /v1/sources, /metrics): when a source is silent (ONRAMP_SOURCE_SILENT_AFTER), and the clock it is judged by. */
  sources?: SourceStatsOptions;
}

/** 1 MiB: the largest request body accepted (413 beyond). */
export const BODY_LIMIT = 1024 * 1024;

export async function buildApp({
  db,
  metricsDb = db,
  temporal,
  logger,
  ingestKeys,
  adminKeys,
  agentKeys = [],
  metricsKeys = [],
  signingSecret,
  slack,
  sdkUserAgents = [],
  onSignalsQueued,
  ingestor: givenIngestor,
  keyCacheMs,
  templatesDir = 'templates',
  emails = { publicUrl: 'http://localhost:3000', docsUrl: 'https://docs.example.com' },
  segmentMapping = readSegmentMapping(),
  clerkSigningSecret,
  emailEvents = {},
  funnel,
  webhooks,
  sources,
}: AppDeps) {
  const { prisma } = db;
  // Path parameters are bounded by their schemas (400 beyond); the router's own limit (414 beyond) sits well above them.
  // Request lines carry no headers, and URLs lose their secrets (unsubscribe tokens) before logging.
  // Errors answered before routing (a bad path, a request Node cannot parse) keep the error shape too.
  const app = Fastify({
    loggerInstance: logger.child({}, { serializers: { req: requestSummary } }),
    logController: new RequestLog(),
    bodyLimit: BODY_LIMIT,
    // 4096: a path-safe case id of a 256-character non-ASCII developer id escapes to about 3,100.
    routerOptions: { maxParamLength: 4096 },
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<ZodTypeProvider>();
  app.removeContentTypeParser('text/plain'); // JSON only: anything else is a 415
  strictJsonBodies(app);
  refuseUnstorableParameters(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFound);
  methodNotAllowed(app);
  documentCommonStatuses(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Onramp', version: '0.1.0' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          basic: { type: 'http', scheme: 'basic' },
          firehoseAccessKey: { type: 'apiKey', in: 'header', name: 'X-Amz-Firehose-Access-Key' },
        },
      },
    },
    transform: openApiTransform,
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // What emails are rendered from, and what the rules are checked against: the templates version in force.
  const templates = new TemplatesInForceCache(db.pool, resolve(templatesDir));
  const rules = new RuleStore(db.pool, templates, () => templates.refresh());
  const escalationPolicy = new EscalationPolicyStore(db.pool);
  const funnelStore = new FunnelStore(db.pool);
  // A funnel change recomputes every developer's stages; one left unfinished (a restart) resumes now.
  const recomputer = new FunnelRecomputer(db.pool, { onSignalsQueued });
  recomputer.run().catch((error: unknown) => logger.error({ err: error }, 'funnel recomputation failed; it resumes at the next start or change'));
  const ingestor = givenIngestor ?? createEventIngestor(db.pool, { rules, sdkUserAgents });
  await app.register(healthRoute, { ingestor, temporal });
  // Ingest keys: the environment's, and those created through /v1/ingest-keys (stored hashed).
  const ingestKeyStore = createIngestKeyStore(db.pool, keyCacheMs);
  const ingest: AcceptedKeys = { keys: ingestKeys, lookup: ingestKeyStore.isLive };
  // The admin keys read everything any other key reads (test/integration/admin-reads.test.ts checks every keyed GET).
  const sourceStats = new SourceStats(db.pool, sources);
  // The counts of the last second, before the pool closes (a report: a failure here loses only them).
  app.addHook('onClose', () => sourceStats.flush().catch((error: unknown) => logger.warn({ err: error }, 'source counts not recorded')));
  await app.register(eventsRoute, { ingestor, ingestKeys: ingest, stats: sourceStats, onSignalsQueued });
  await app.register(segmentRoute, { ingestor, pool: db.pool, writeKeys: ingest, mapping: segmentMapping, stats: sourceStats, ...(onSignalsQueued ? { onSignalsQueued } : {}) });
  await app.register(kongRoute, { ingestor, ingestKeys: ingest, stats: sourceStats, ...(onSignalsQueued ? { onSignalsQueued } : {}) });
  await app.register(firehoseRoute, { ingestor, ingestKeys: ingest, stats: sourceStats, ...(onSignalsQueued ? { onSignalsQueued } : {}) });
  await app.register(clerkRoute, { ingestor, signingSecret: clerkSigningSecret, stats: sourceStats, onSignalsQueued });
  await app.register(auth0Route, { ingestor, ingestKeys: ingest, stats: sourceStats, onSignalsQueued });
  await app.register(sesRoute, {
    ingestor,
    pool: db.pool,
    stats: sourceStats,
    sns: { extraHosts: emailEvents.snsCertHosts ?? [] },
    topicArns: emailEvents.sesTopicArns ?? [],
    onSignalsQueued,
  });
  await app.register(sendgridRoute, { ingestor, pool: db.pool, stats: sourceStats, publicKey: emailEvents.sendgridPublicKey, onSignalsQueued });
  await app.register(sourcesRoute, { stats: sourceStats, adminKeys, pool: db.pool });
  await app.register(journeyRoute, { prisma, pool: db.pool, temporal, funnel, readKeys: anyOf(ingest, adminKeys) });
  await app.register(importRoute, { ingestor, adminKeys, stats: sourceStats, onSignalsQueued });
  await app.register(eventTypesRoute, { pool: db.pool, adminKeys, funnel: async () => (await funnel()).document, rules: async () => (await rules.active())?.document });
  await app.register(funnelRoute, { pool: db.pool, stores: { funnel: funnelStore, rules, escalationPolicy }, adminKeys, recomputer });
  await app.register(rulesRoute, { store: rules, adminKeys });
  await app.register(escalationPolicyRoute, { store: escalationPolicy, adminKeys });
  await app.register(alertsConfigRoute, { store: new AlertsStore(db.pool), adminKeys });
  await app.register(firedAlertsRoute, { pool: db.pool, readKeys: [...metricsKeys, ...adminKeys] });
  await app.register(messagesRoute, { prisma, readKeys: anyOf(ingest, adminKeys), adminKeys });
  const emailSettings = async () => (await templates.read()).templates.settings();
  await app.register(unsubscribeRoute, { ingestor, pool: db.pool, emailSettings, signingSecret, onSignalsQueued });
  await app.register(feedbackRoute, { pool: db.pool, ingestor, emailSettings, signingSecret, onSignalsQueued });
  await app.register(templatesRoute, { pool: db.pool, templates, store: new TemplateStore(db.pool), funnel, emails, signingSecret, adminKeys });
  await app.register(trackingRoute, { pool: db.pool, ingestor, signingSecret, onSignalsQueued });
  // Agent keys: the shared one (ONRAMP_AGENT_KEY), the admin keys, and personal ones created through /v1/agent-keys (stored hashed).
  const agentKeyStore = createAgentKeyStore(db.pool, keyCacheMs);
  const agents: AcceptedKeys = { keys: [...agentKeys, ...adminKeys], lookup: agentKeyStore.isLive };
  // One cache of the stagnation risk's curves for the developer lists and the agents' queue.
  const riskModels = new RiskModels(metricsDb.pool);
  await app.register(handoffsRoute, {
    prisma,
    risks: async (ids, asOf) => risksOf(riskModels, metricsDb.pool, asOf, await funnel(), (await escalationPolicy.active())?.document.criteria.stalls ?? DEFAULT_STALLS, ids),
    pool: db.pool,
    temporal,
    funnel,
    showEmail: async () => (await escalationPolicy.active())?.document.privacy.showEmail ?? false,
    anyAgentMayAct: async () => (await escalationPolicy.active())?.document.agents.anyMayAct ?? false,
    frictions: async () => frictionsOf((await escalationPolicy.active())?.document),
    ...(slack?.publicUrl ? { publicUrl: slack.publicUrl } : {}),
    agentKeys: agents,
    adminKeys,
    findAgentKey: agentKeyStore.find,
    readKeys: anyOf(ingest, agents),
  });
  await app.register(metricsRoute, { pool: metricsDb.pool, readKeys: [...metricsKeys, ...adminKeys], funnel });
  await app.register(outcomeMetricsRoute, { pool: metricsDb.pool, readKeys: [...metricsKeys, ...adminKeys], funnel, riskModels });
  await app.register(changesRoute, { pool: db.pool, funnel, adminKeys, readKeys: [...metricsKeys, ...adminKeys] });
  await app.register(usageMetricsRoute, { pool: metricsDb.pool, readKeys: [...metricsKeys, ...adminKeys], funnel });
  await app.register(experimentMetricsRoute, { pool: metricsDb.pool, readKeys: [...metricsKeys, ...adminKeys], funnel });
  await app.register(organizationsRoute, { pool: metricsDb.pool, prisma: metricsDb.prisma, readKeys: [...metricsKeys, ...adminKeys], funnel });
  await app.register(prometheusRoute, { pool: db.pool, keys: [...metricsKeys, ...adminKeys], funnel, sources: sourceStats });
  await app.register(ingestKeysRoute, { store: ingestKeyStore, adminKeys });
  await app.register(agentKeysRoute, { store: agentKeyStore, adminKeys });
  await app.register(auditRoute, { pool: db.pool, adminKeys });
  await app.register(webhooksRoute, {
    store: new WebhookStore(db.pool),
    adminKeys,
    allowedAddresses: webhooks?.allowedAddresses ?? [],
    ...(webhooks?.onQueued ? { onQueued: webhooks.onQueued } : {}),
  });
  await app.register(developerDeletionRoute, {
    pool: db.pool,
    temporal,
    adminKeys,
    funnel,
    ...(slack?.gateway ? { slack: { gateway: slack.gateway, publicUrl: slack.publicUrl ?? 'http://localhost' } } : {}),
  });
  await app.register(dashboardRoute);
  await app.register(slackRoute, { prisma, pool: db.pool, temporal, signingSecret: slack?.signingSecret, gateway: slack?.gateway, currentPolicy: () => escalationPolicy.active() });
  return app;
}

export type OnrampApp = Awaited<ReturnType<typeof buildApp>>;
