import type pg from 'pg';
import type { z } from 'zod';
import { withTransaction, type Sql } from '../db/sql.ts';
import type { ConfigFormat } from '../rules/config-file.ts';
import type { EscalationPolicyStore } from '../rules/escalation-policy-store.ts';
import type { EscalationPolicyDocument } from '../rules/escalation-policy-schema.ts';
import type { RuleStore } from '../rules/rule-store.ts';
import type { RulesDocument } from '../rules/rules-schema.ts';
import { CONFIG_TABLES, documentInForce, withConfigLock, type ApplyRequest, type ConfigVersion } from '../rules/versioned-config-store.ts';
import { stageReferenceErrors, type CheckedDocument, type ConfigDocumentError, type ConfigDocumentName } from './funnel-references.ts';
import type { FunnelDocument } from './funnel-schema.ts';
import type { FunnelStore } from './funnel-store.ts';
import { FUNNEL_VERSION_LOCK } from './funnel-in-force.ts';

/**
 * A funnel change, with the rules and the escalation policy it brings along: a funnel that drops
 * or reorders stages they name is applied together with their new versions, all validated
 * together and stored in one transaction (one audit row per document stored), or none of them.
 */

export interface FunnelChange extends ApplyRequest {
  /** New rules to store with the funnel (same author and reason). */
  rules?: { source: string } | undefined;
  /** A new escalation policy to store with the funnel. */
  escalationPolicy?: { source: string } | undefined;
}

export interface ConfigStores {
  funnel: FunnelStore;
  rules: RuleStore;
  escalationPolicy: EscalationPolicyStore;
}

export interface Applied<D> {
  created: boolean;
  version: ConfigVersion<D>;
}

export type FunnelChangeResult =
  | { ok: true; funnel: Applied<FunnelDocument>; rules?: Applied<RulesDocument>; escalationPolicy?: Applied<EscalationPolicyDocument> }
  | { ok: false; errors: ConfigDocumentError[] };

interface Parsed {
  funnel: CheckedDocument<FunnelDocument>;
  rules?: CheckedDocument<RulesDocument>;
  escalationPolicy?: CheckedDocument<EscalationPolicyDocument>;
}

/** Each source given, validated on its own; errors name their document. */
function parseAll(stores: ConfigStores, change: Omit<FunnelChange, 'author' | 'reason'>): { ok: true; parsed: Parsed } | { ok: false; errors: ConfigDocumentError[] } {
  const errors: ConfigDocumentError[] = [];
  const parse = <D>(format: ConfigFormat<z.ZodType<D>, never>, source: string): CheckedDocument<D> | undefined => {
    const result = format.parse(source);
    if (result.ok) return { source, document: result.document };
    errors.push(...result.errors.map((error) => ({ ...error, document: format.label as ConfigDocumentName })));
    return undefined;
  };
  const funnel = parse(stores.funnel.kind.format, change.source);
  const rules = change.rules && parse(stores.rules.kind.format, change.rules.source);
  const escalationPolicy = change.escalationPolicy && parse(stores.escalationPolicy.kind.format, change.escalationPolicy.source);
  if (!funnel || errors.length > 0) return { ok: false, errors };
  return { ok: true, parsed: { funnel, ...(rules ? { rules } : {}), ...(escalationPolicy ? { escalationPolicy } : {}) } };
}

/** The rules and policy given, else those in force as `sql` reads them, checked against the new funnel. */
async function crossCheck(sql: Sql, parsed: Parsed): Promise<ConfigDocumentError[]> {
  return stageReferenceErrors(parsed.funnel.document, {
    rules: parsed.rules ?? (await documentInForce<RulesDocument>(sql, CONFIG_TABLES.rules)),
    policy: parsed.escalationPolicy ?? (await documentInForce<EscalationPolicyDocument>(sql, CONFIG_TABLES.escalationPolicy)),
  });
}

/** What applying the change now would answer, storing nothing. */
export async function validateFunnelChange(
  pool: pg.Pool,
  stores: ConfigStores,
  change: Omit<FunnelChange, 'author' | 'reason'>,
): Promise<{ ok: true; document: FunnelDocument } | { ok: false; errors: ConfigDocumentError[] }> {
  const all = parseAll(stores, change);
  if (!all.ok) return all;
  const errors = await withTransaction(pool, (sql) => crossCheck(sql, all.parsed));
  return errors.length > 0 ? { ok: false, errors } : { ok: true, document: all.parsed.funnel.document };
}

/**
 * Validates every document given, checks them against each other (and the funnel against the
 * rules or policy in force that it does not replace) under the config lock, and stores them in
 * that one transaction. A source identical to its running version stores nothing (`created: false`).
 */
export async function applyFunnelChange(pool: pg.Pool, stores: ConfigStores, change: FunnelChange): Promise<FunnelChangeResult> {
  const all = parseAll(stores, change);
  if (!all.ok) return all;
  const { parsed } = all;
  const { author, reason } = change;
  return withConfigLock(pool, async (sql) => {
    const errors = await crossCheck(sql, parsed);
    if (errors.length > 0) return { ok: false, errors };
    // Batches evaluated under the funnel in force commit first; later ones wait for this one.
    await sql(`SELECT pg_advisory_xact_lock($1)`, FUNNEL_VERSION_LOCK);
    const store = <D>(target: { storeLocked(sql: Sql, request: ApplyRequest, document: D): Promise<Applied<D>> }, checked: CheckedDocument<D>) =>
      target.storeLocked(sql, { source: checked.source, author, reason }, checked.document);
    const rules = parsed.rules && (await store(stores.rules, parsed.rules));
    const escalationPolicy = parsed.escalationPolicy && (await store(stores.escalationPolicy, parsed.escalationPolicy));
    const funnel = await store(stores.funnel, parsed.funnel);
    if (funnel.created) await startRecomputation(sql, funnel.version.version);
    return { ok: true, funnel, ...(rules ? { rules } : {}), ...(escalationPolicy ? { escalationPolicy } : {}) };
  });
}

/**
 * Records that every developer's stages need recomputing under `version` (src/ingest/
 * funnel-recomputation.ts runs it), in the transaction that stores the version: a recomputation
 * of an older version still running is superseded.
 */
async function startRecomputation(sql: Sql, version: number): Promise<void> {
  await sql(`UPDATE funnel_recomputations SET status = 'superseded', finished_at = now() WHERE status = 'running'`);
  await sql(`INSERT INTO funnel_recomputations (funnel_version, status) VALUES ($1, 'running') ON CONFLICT (funnel_version) DO NOTHING`, version);
}
