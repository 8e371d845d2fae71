import { readFileSync } from 'node:fs';
import type pg from 'pg';
import type { AlertsDocument } from '../rules/alerts-schema.ts';
import { AlertsStore } from '../rules/alerts-store.ts';
import { SHIPPED_ALERTS_FILE } from '../rules/alerts-file.ts';
import type { EscalationPolicyDocument } from '../rules/escalation-policy-schema.ts';
import { EscalationPolicyStore } from '../rules/escalation-policy-store.ts';
import { RuleStore } from '../rules/rule-store.ts';
import type { RulesDocument } from '../rules/rules-schema.ts';
import type { TemplateFolder } from '../rules/rules-file.ts';
import { withTransaction } from '../db/sql.ts';
import { CONFIG_TABLES, documentInForce, type ConfigVersion } from '../rules/versioned-config-store.ts';
import { formatConfigDocumentError, stageReferenceErrors } from './funnel-references.ts';
import type { FunnelDocument } from './funnel-schema.ts';
import { applyFunnelChange, type ConfigStores } from './funnel-change.ts';
import { SHIPPED_FUNNEL_FILE } from './funnel-file.ts';
import { FunnelStore } from './funnel-store.ts';

/**
 * Start-up of a process that serves the documents (`onramp start`, `onramp api`): each file is
 * applied as version 1 where no version is stored — the funnel first, so the rules and policy are
 * checked against it, the alerts last — and the versions in force are checked against each other: rules or a policy
 * naming a stage the funnel lacks (stored before the funnel was versioned) stop start-up.
 */

export interface ConfigFiles {
  funnelFile: string;
  rulesFile: string;
  escalationFile: string;
  /** Default: the shipped config/alerts.yaml. */
  alertsFile?: string;
  /** The nudge templates: rules naming another are refused. */
  templates: TemplateFolder;
}

export interface ConfigInForce {
  funnel: ConfigVersion<FunnelDocument>;
  rules: ConfigVersion<RulesDocument>;
  policy: ConfigVersion<EscalationPolicyDocument>;
  alerts: ConfigVersion<AlertsDocument>;
}

export async function ensureConfigInForce(pool: pg.Pool, files: ConfigFiles): Promise<ConfigInForce> {
  const stores = { funnel: new FunnelStore(pool), rules: new RuleStore(pool, files.templates), escalationPolicy: new EscalationPolicyStore(pool) };
  const funnel = await ensureInitialFunnel(pool, stores, files.funnelFile);
  const rules = await stores.rules.ensureInitialVersion(files.rulesFile);
  const policy = await stores.escalationPolicy.ensureInitialVersion(files.escalationFile);
  const alerts = await new AlertsStore(pool).ensureInitialVersion(files.alertsFile ?? SHIPPED_ALERTS_FILE);
  const errors = await withTransaction(pool, async (sql) => {
    const inForce = await documentInForce<FunnelDocument>(sql, CONFIG_TABLES.funnel);
    if (!inForce) return [];
    return stageReferenceErrors(inForce.document, {
      rules: await documentInForce<RulesDocument>(sql, CONFIG_TABLES.rules),
      policy: await documentInForce<EscalationPolicyDocument>(sql, CONFIG_TABLES.escalationPolicy),
    });
  });
  if (errors.length > 0) {
    throw new Error(
      `the rules or escalation policy in force name stages the funnel in force does not have; apply them changed (onramp rules apply, onramp policy apply, or with the funnel: onramp funnel apply --rules/--policy):\n${errors.map((e) => `  ${formatConfigDocumentError(e)}`).join('\n')}`,
    );
  }
  return { funnel, rules, policy, alerts };
}

/** The reason version 1 records when it is the shipped funnel that earlier data was recorded under. */
const RECORDED_UNDER_SHIPPED = 'the funnel the stages recorded before funnel versions are of';

/**
 * The funnel file as version 1 on a new installation. On one upgraded from before funnel versions,
 * the stages already recorded are the shipped funnel's (their rows say version 1): the shipped
 * funnel is then version 1, and a funnel file of another shape comes in as version 2, recomputed
 * for everyone like any change (if a start-up stops between the two, the next one applies it).
 */
async function ensureInitialFunnel(pool: pg.Pool, stores: ConfigStores, funnelFile: string): Promise<ConfigVersion<FunnelDocument>> {
  if (!(await stores.funnel.active())) {
    const { rows } = await pool.query(`SELECT 1 FROM journey_stages UNION ALL SELECT 1 FROM stage_evidence LIMIT 1`);
    if (rows.length === 0) return stores.funnel.ensureInitialVersion(funnelFile);
    await stores.funnel.ensureInitialVersion(SHIPPED_FUNNEL_FILE, RECORDED_UNDER_SHIPPED);
  }
  const current = await stores.funnel.current();
  const source = readFileSync(funnelFile, 'utf8');
  if (current.version !== 1 || current.reason !== RECORDED_UNDER_SHIPPED || current.source === source) return current;
  const applied = await applyFunnelChange(pool, stores, { source, author: 'onramp', reason: `${funnelFile} over the stages recorded under the shipped funnel` });
  if (!applied.ok) {
    throw new Error(
      `${funnelFile} cannot replace the shipped funnel the stored stages were recorded under:\n${applied.errors.map((e) => `  ${formatConfigDocumentError(e)}`).join('\n')}`,
    );
  }
  return applied.funnel.version;
}
