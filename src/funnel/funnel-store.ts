import type pg from 'pg';
import type { EscalationPolicyDocument } from '../rules/escalation-policy-schema.ts';
import type { RulesDocument } from '../rules/rules-schema.ts';
import { CONFIG_TABLES, documentInForce, VersionedConfigStore, type ConfigVersion } from '../rules/versioned-config-store.ts';
import { funnelFormat } from './funnel-file.ts';
import { formatConfigDocumentError, stageReferenceErrors, type ConfigDocumentError } from './funnel-references.ts';
import type { funnelDocument, FunnelDocument } from './funnel-schema.ts';

/**
 * Funnel versions in PostgreSQL (`funnel_versions`), versioned and audited exactly like the nudge
 * rules (see VersionedConfigStore); config/funnel.yaml is version 1. A funnel that would leave the
 * rules or policy in force naming a stage it lacks (or a stall's `until` not after its `since`) is
 * refused: change them with it (funnel-change.ts).
 */

export type FunnelStoredVersion = ConfigVersion<FunnelDocument>;

export class FunnelStore extends VersionedConfigStore<typeof funnelDocument, 'stage'> {
  constructor(pool: pg.Pool) {
    super(pool, {
      table: CONFIG_TABLES.funnel,
      format: funnelFormat,
      auditAction: 'funnel.applied',
      // The refusals are stage-reference errors, each naming its document.
      formatRefusal: (error) => formatConfigDocumentError(error as ConfigDocumentError),
      refuse: async (funnel, sql) =>
        stageReferenceErrors(funnel.document, {
          rules: await documentInForce<RulesDocument>(sql, CONFIG_TABLES.rules),
          policy: await documentInForce<EscalationPolicyDocument>(sql, CONFIG_TABLES.escalationPolicy),
        }),
    });
  }
}
