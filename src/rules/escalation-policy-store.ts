import type pg from 'pg';
import { escalationPolicyFormat } from './escalation-policy-file.ts';
import type { EscalationPolicyDocument, escalationPolicyDocument } from './escalation-policy-schema.ts';
import { VersionedConfigStore, type ConfigVersion } from './versioned-config-store.ts';

/**
 * Escalation-policy versions in PostgreSQL (`escalation_policy_versions`), versioned and audited
 * exactly like the nudge rules (see VersionedConfigStore); config/escalation.yaml is version 1.
 * `active()` answers the `ActivePolicy` the engine reads.
 */

export type EscalationPolicyVersion = ConfigVersion<EscalationPolicyDocument>;

export class EscalationPolicyStore extends VersionedConfigStore<typeof escalationPolicyDocument, 'stall'> {
  constructor(pool: pg.Pool) {
    super(pool, { table: 'escalation_policy_versions', format: escalationPolicyFormat, auditAction: 'escalation_policy.applied' });
  }
}
