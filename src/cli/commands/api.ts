import { resolve } from 'node:path';
import type { Config } from '../../config.ts';
import { applyMigrations } from '../../db/migrate.ts';
import { openDatabase } from '../../db/database.ts';
import { processLogger } from '../../logger.ts';
import { EscalationPolicyStore } from '../../rules/escalation-policy-store.ts';
import { RuleStore } from '../../rules/rule-store.ts';
import { EmailTemplates } from '../../mail/email-templates.ts';
import { onShutdownSignal, startApiService } from '../services.ts';
import { requireProduction } from './require-production.ts';

/** The HTTP API and the outbox dispatcher, against TEMPORAL_ADDRESS and DATABASE_URL. */
export async function apiCommand(config: Config): Promise<void> {
  const { databaseUrl, temporalAddress, ingestKey } = requireProduction(config, { ingestKey: true });
  const logger = processLogger(config);
  await applyMigrations(databaseUrl, { log: (msg) => logger.info(msg) });
  const db = openDatabase(databaseUrl);
  const rules = await new RuleStore(db.pool, new EmailTemplates(resolve(config.ONRAMP_TEMPLATES_DIR))).ensureInitialVersion(config.ONRAMP_RULES_FILE);
  logger.info({ version: rules.version, author: rules.author, reason: rules.reason }, 'rules version running');
  const policy = await new EscalationPolicyStore(db.pool).ensureInitialVersion(config.ONRAMP_ESCALATION_FILE);
  logger.info({ version: policy.version, author: policy.author, reason: policy.reason }, 'escalation policy version running');
  if (!config.ONRAMP_ADMIN_KEY) logger.warn('ONRAMP_ADMIN_KEY is unset: the rules and escalation-policy endpoints (/v1/rules…, /v1/escalation-policy…) answer 401 to everyone');
  const api = await startApiService({ config, db, temporalAddress, logger, ingestKeys: [ingestKey!], adminKeys: config.ONRAMP_ADMIN_KEY ? [config.ONRAMP_ADMIN_KEY] : [] });
  logger.info({ url: api.url }, 'api listening');
  onShutdownSignal(async () => {
    await api.stop();
    await db.close();
  });
}
