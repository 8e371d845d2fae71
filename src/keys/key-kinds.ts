import type pg from 'pg';
import { HashedKeyStore, type KeyKind, type StoredKeyInfo } from './hashed-key-store.ts';

/** Ingest keys per source (`onramp keys`, /v1/ingest-keys): they send events. */
const INGEST_KEY: KeyKind<'source'> = { table: 'ingest_keys', label: 'source', prefix: 'ik', audit: { created: 'ingest_key.created', revoked: 'ingest_key.revoked' } };

/** Agent keys per person (`onramp agents`, /v1/agent-keys): on the handoff endpoints, the key's name is who acts. */
const AGENT_KEY: KeyKind<'name'> = { table: 'agent_keys', label: 'name', prefix: 'ak', audit: { created: 'agent_key.created', revoked: 'agent_key.revoked' } };

export type IngestKeyInfo = StoredKeyInfo<'source'>;
export type AgentKeyInfo = StoredKeyInfo<'name'>;
export type IngestKeyStore = HashedKeyStore<'source'>;
export type AgentKeyStore = HashedKeyStore<'name'>;

export const createIngestKeyStore = (pool: pg.Pool, cacheMs?: number): IngestKeyStore => new HashedKeyStore(pool, INGEST_KEY, cacheMs);
export const createAgentKeyStore = (pool: pg.Pool, cacheMs?: number): AgentKeyStore => new HashedKeyStore(pool, AGENT_KEY, cacheMs);
