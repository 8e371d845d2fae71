import type pg from 'pg';
import { formatConfigDocumentError, stageReferenceErrors, type ConfigDocumentError } from '../funnel/funnel-references.ts';
import type { FunnelDocument } from '../funnel/funnel-schema.ts';
import { escalationPolicyFormat } from './escalation-policy-file.ts';
import type { EscalationPolicyDocument, escalationPolicyDocument } from './escalation-policy-schema.ts';
import { CONFIG_TABLES, documentInForce, VersionedConfigStore, type ConfigVersion } from './versioned-config-store.ts';

/**
 * Escalation-policy versions in PostgreSQL (`escalation_policy_versions`), versioned and audited
 * exactly like the nudge rules (see VersionedConfigStore); config/escalation.yaml is version 1.
 * `active()` answers the `ActivePolicy` the engine reads. A policy whose stalls name a stage the
 * funnel in force lacks, or an `until` not after its `since` there, is refused.
 */

export type EscalationPolicyVersion = ConfigVersion<EscalationPolicyDocument>;

export class EscalationPolicyStore extends VersionedConfigStore<typeof escalationPolicyDocument, 'stall'> {
  constructor(pool: pg.Pool) {
    super(pool, {
      table: CONFIG_TABLES.escalationPolicy,
      format: escalationPolicyFormat,
      auditAction: 'escalation_policy.applied',
      // The refusals are stage-reference errors, each naming its document.
      formatRefusal: (error) => formatConfigDocumentError(error as ConfigDocumentError),
      refuse: async (policy, sql) => {
        const funnel = await documentInForce<FunnelDocument>(sql, CONFIG_TABLES.funnel);
        return funnel ? stageReferenceErrors(funnel.document, { policy }) : [];
      },
    });
  }
}
