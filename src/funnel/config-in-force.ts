import type pg from 'pg';
import type { EscalationPolicyDocument } from '../rules/escalation-policy-schema.ts';
import { EscalationPolicyStore } from '../rules/escalation-policy-store.ts';
import { RuleStore } from '../rules/rule-store.ts';
import type { RulesDocument } from '../rules/rules-schema.ts';
import { withTransaction } from '../db/sql.ts';
import { CONFIG_TABLES, documentInForce, type ConfigVersion } from '../rules/versioned-config-store.ts';
import { formatConfigDocumentError, stageReferenceErrors } from './funnel-references.ts';
import type { FunnelDocument } from './funnel-schema.ts';
import { FunnelStore } from './funnel-store.ts';

/**
 * Start-up of a process that serves the documents (`onramp start`, `onramp api`): each file is
 * applied as version 1 where no version is stored — the funnel first, so the rules and policy are
 * checked against it — and the versions in force are checked against each other: rules or a policy
 * naming a stage the funnel lacks (stored before the funnel was versioned) stop start-up.
 */

export interface ConfigFiles {
  funnelFile: string;
  rulesFile: string;
  escalationFile: string;
  /** The nudge templates: rules naming another are refused. */
  templates: { names(): ReadonlySet<string> };
}

export interface ConfigInForce {
  funnel: ConfigVersion<FunnelDocument>;
  rules: ConfigVersion<RulesDocument>;
  policy: ConfigVersion<EscalationPolicyDocument>;
}

export async function ensureConfigInForce(pool: pg.Pool, files: ConfigFiles): Promise<ConfigInForce> {
  const funnel = await new FunnelStore(pool).ensureInitialVersion(files.funnelFile);
  const rules = await new RuleStore(pool, files.templates).ensureInitialVersion(files.rulesFile);
  const policy = await new EscalationPolicyStore(pool).ensureInitialVersion(files.escalationFile);
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
  return { funnel, rules, policy };
}
