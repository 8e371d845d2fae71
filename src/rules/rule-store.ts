import type pg from 'pg';
import { formatConfigDocumentError, stageReferenceErrors, type ConfigDocumentError } from '../funnel/funnel-references.ts';
import type { FunnelDocument } from '../funnel/funnel-schema.ts';
import { rulesFormat, rulesFormatWithTemplates, type TemplateFolder } from './rules-file.ts';
import type { RulesDocument, rulesDocument } from './rules-schema.ts';
import {
  CONFIG_TABLES,
  documentInForce,
  NoConfigVersionError,
  VersionedConfigStore,
  type ApplyRequest,
  type ConfigVersion,
  type ConfigVersionSummary,
} from './versioned-config-store.ts';

/**
 * Nudge-rule versions in PostgreSQL (`rule_versions`): every change is a new version with who
 * made it, why, and the diff of its YAML against the previous one (see VersionedConfigStore).
 * Rules naming a stage the funnel in force lacks are refused (none stored yet: nothing to check).
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
  /**
   * With `templates`, a version naming a template they do not have is refused (apply, the initial
   * file); `refreshTemplates` brings them up to date before each apply and validate (the templates
   * version in force, which another process may have changed).
   */
  constructor(
    pool: pg.Pool,
    templates?: TemplateFolder,
    private readonly refreshTemplates?: () => Promise<unknown>,
  ) {
    const format = templates ? rulesFormatWithTemplates(templates) : rulesFormat;
    super(pool, {
      table: CONFIG_TABLES.rules,
      format,
      auditAction: 'rules.applied',
      noVersion: () => new NoRulesError(),
      // The refusals are stage-reference errors, each naming its document.
      formatRefusal: (error) => formatConfigDocumentError(error as ConfigDocumentError),
      refuse: async (rules, sql) => {
        const funnel = await documentInForce<FunnelDocument>(sql, CONFIG_TABLES.funnel);
        return funnel ? stageReferenceErrors(funnel.document, { rules }) : [];
      },
    });
  }

  override async apply(request: ApplyRequest): ReturnType<VersionedConfigStore<typeof rulesDocument, 'rule'>['apply']> {
    await this.refreshTemplates?.();
    return super.apply(request);
  }

  override async validate(source: string): ReturnType<VersionedConfigStore<typeof rulesDocument, 'rule'>['validate']> {
    await this.refreshTemplates?.();
    return super.validate(source);
  }
}
