import type pg from 'pg';
import { rulesFormat } from './rules-file.ts';
import type { RulesDocument, rulesDocument } from './rules-schema.ts';
import { NoConfigVersionError, VersionedConfigStore, type ConfigVersion, type ConfigVersionSummary } from './versioned-config-store.ts';

/**
 * Nudge-rule versions in PostgreSQL (`rule_versions`): every change is a new version with who
 * made it, why, and the diff of its YAML against the previous one (see VersionedConfigStore).
 */

export type { ApplyRequest, ApplyResult } from './versioned-config-store.ts';

export type RuleVersion = ConfigVersion<RulesDocument>;
export type RuleVersionSummary = ConfigVersionSummary;

export class NoRulesError extends NoConfigVersionError {
  constructor() {
    super('rules');
  }
}

export class RuleStore extends VersionedConfigStore<typeof rulesDocument, 'rule'> {
  constructor(pool: pg.Pool) {
    super(pool, { table: 'rule_versions', format: rulesFormat, auditAction: 'rules.applied', noVersion: () => new NoRulesError() });
  }
}
