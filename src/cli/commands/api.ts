import { ensureDocumentsInForce, templatesFolderWarning } from '../config-files.ts';
import { publicUrlWarning, type Config } from '../../config.ts';
import { applyMigrations } from '../../db/migrate.ts';
import { openDatabase } from '../../db/database.ts';
import { processLogger } from '../../logger.ts';
import { onShutdownSignal, startApiService } from '../services.ts';
import { requireProduction } from './require-production.ts';

/** The HTTP API and the outbox dispatcher, against TEMPORAL_ADDRESS and DATABASE_URL. */
export async function apiCommand(config: Config): Promise<void> {
  const { databaseUrl, temporalAddress, ingestKey } = requireProduction(config, { ingestKey: true });
  const logger = processLogger(config);
  await applyMigrations(databaseUrl, { log: (msg) => logger.info(msg) });
  const db = openDatabase(databaseUrl, { max: config.ONRAMP_DATABASE_CONNECTIONS });
  const { funnel, rules, policy, alerts, templates, templatesFolderDiffers } = await ensureDocumentsInForce(db.pool, config);
  logger.info({ version: funnel.version, author: funnel.author, reason: funnel.reason }, 'funnel version running');
  logger.info({ version: rules.version, author: rules.author, reason: rules.reason }, 'rules version running');
  logger.info({ version: policy.version, author: policy.author, reason: policy.reason }, 'escalation policy version running');
  logger.info({ version: alerts.version, author: alerts.author, reason: alerts.reason }, 'alerts version running');
  logger.info({ version: templates.version, author: templates.author, reason: templates.reason }, 'templates version running');
  if (templatesFolderDiffers) logger.warn(templatesFolderWarning(config, templates.version));
  const unreachableLinks = publicUrlWarning(config);
  if (unreachableLinks) logger.warn(unreachableLinks);
  if (!config.ONRAMP_ADMIN_KEY)
    logger.warn(
      'ONRAMP_ADMIN_KEY is unset: the rules, escalation-policy, funnel and alerts endpoints (/v1/rules…, /v1/escalation-policy…, /v1/funnel…, /v1/alerts…) answer 401 to everyone',
    );
  const api = await startApiService({ config, db, temporalAddress, logger, ingestKeys: [ingestKey!], adminKeys: config.ONRAMP_ADMIN_KEY ? [config.ONRAMP_ADMIN_KEY] : [] });
  logger.info({ url: api.url }, 'api listening');
  onShutdownSignal(async () => {
    await api.stop();
    await db.close();
  });
}
