import { LRUCache } from 'lru-cache';
import type pg from 'pg';
import { withTransaction, type Sql } from '../db/sql.ts';
import { attributingKey, isApiRequest, isBuiltInEvent, type ApiRequestEvent, type BuiltInEvent, type IngestEvent } from '../events/event-schemas.ts';
import { toJourneyEvent, type JourneyHeardEvent } from '../events/to-journey-event.ts';
import { isSdkUserAgent, sdkClassifier } from '../events/user-agent.ts';
import { isEarlier, isEarlierSql } from '../journey/evidence-order.ts';
import { recordEmailPreferences } from './record-email-preferences.ts';
import { stageProvedSignalId, type JourneyEvent } from '../journey/journey-event.ts';
import { stageRank } from '../journey/stages.ts';
import { FUNNEL_VERSION_LOCK, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { shippedFunnel } from '../funnel/funnel-file.ts';
import { FunnelEvidence } from './funnel-evidence.ts';
import type { AttributedRequest } from './request-aggregates.ts';
import { storeEvents } from './store-events.ts';
import { DEFAULT_RAW_REQUEST_WINDOW, type RawRequestWindow } from '../retention/raw-request-window.ts';
import { countEventTypesSql } from './event-type-stats.ts';
import { noteFirstEvents } from './first-events.ts';
import { DEFAULT_BURST_THRESHOLDS, ErrorBurstDetector, newBurstLessons, type BurstLessons, type BurstThresholds } from './error-bursts.ts';
import { EvidenceCache } from './evidence-cache.ts';
import { burstThresholdsFrom } from './burst-thresholds.ts';
import type { RuleStore } from '../rules/rule-store.ts';
import { EvidenceCandidates, lowerStageEvidence, type EvidenceCandidate } from './stage-evidence.ts';

/** The built-in events besides requests (a few reach the journey as themselves; every type, custom too, as `event.seen`). */
type DomainEvent = Exclude<BuiltInEvent, { type: 'api.request' }>;

/**
 * An ingest transaction begins holding FUNNEL_VERSION_LOCK shared and reads the funnel version in
 * force, in the BEGIN's one round trip. The version is read by a statement after the lock's: a
 * statement's snapshot is taken when it starts, so one that waited for a new version's commit in
 * the lock's own statement would still see the old version.
 */
const INGEST_BEGIN = `BEGIN; SELECT pg_advisory_xact_lock_shared(${FUNNEL_VERSION_LOCK}); SELECT max(version) AS version FROM funnel_versions`;

export interface IngestResult {
  accepted: number;
  duplicates: number;
  /** Accepted api.request and custom events whose key is not (yet) mapped to a developer. */
  unattributed: number;
  /** Signals queued for the journeys. */
  signals: number;
  /** Events of deleted developers (DELETE /v1/developers/:id): not stored. */
  deleted: number;
}

export interface IngestorOptions {
  isSdk?: (userAgent: string | undefined) => boolean;
  /** Key → owner mappings kept in memory (they never change once written). */
  keyCacheSize?: number;
  /** Developers whose stored stage evidence is kept in memory (see EvidenceCache). */
  evidenceCacheSize?: number;
  /** The error-burst thresholds in force (the rules' policy); the schema's defaults otherwise. */
  burstThresholds?: () => Promise<BurstThresholds>;
  /** How long requests are stored raw (docs/concepts/storage.md); 90 days after signup, 30 after the final stage by default. */
  rawRequestWindow?: RawRequestWindow;
}

export interface IngestOptions {
  /**
   * A backfill (`POST /v1/import`): stored exactly as live events, but every journey signal they
   * cause carries `imported: true`, so the journey sends and escalates nothing for the past.
   */
  imported?: boolean;
}

/** What a transaction learnt, for the caches once it has committed (never before: it may roll back). */
interface Learnt {
  funnelVersion: number;
  keyOwners: Map<string, string>;
  lowered: EvidenceCandidate[];
  refused: EvidenceCandidate[];
  bursts: BurstLessons;
  /** The event-type counts to add, sent with the COMMIT (their rows are the most contended locks of ingest). */
  counts?: string | undefined;
}

/** The ingestor as Onramp runs it: the error-burst thresholds of the rules in force, the SDK user agents configured beside the shipped ones. */
export function createEventIngestor(
  pool: pg.Pool,
  { rules, sdkUserAgents = [], rawRequestWindow }: { rules: RuleStore; sdkUserAgents?: readonly RegExp[]; rawRequestWindow?: RawRequestWindow },
): EventIngestor {
  return new EventIngestor(pool, { burstThresholds: burstThresholdsFrom(rules), isSdk: sdkClassifier(sdkUserAgents), ...(rawRequestWindow && { rawRequestWindow }) });
}

/**
 * Stores validated batches, each in one transaction: the events (idempotent by id), the api_key
 * mapping, profiles, request aggregates, the earliest stage evidence, and the signals those imply
 * (the outbox). Either all of a batch is stored or none of it.
 */
export class EventIngestor {
  private readonly isSdk: (userAgent: string | undefined) => boolean;
  private readonly keyOwners: LRUCache<string, string>;
  private readonly evidence: EvidenceCache;
  private readonly bursts = new ErrorBurstDetector();
  private readonly burstThresholds: () => Promise<BurstThresholds>;
  private readonly rawRequestWindow: RawRequestWindow;
  /** The funnel version last in force, compiled (recompiled when another version comes into force). */
  private funnel: FunnelEvidence | undefined;

  constructor(
    private readonly pool: pg.Pool,
    options: IngestorOptions = {},
  ) {
    this.isSdk = options.isSdk ?? isSdkUserAgent;
    this.keyOwners = new LRUCache({ max: options.keyCacheSize ?? 100_000 });
    this.evidence = new EvidenceCache(options.evidenceCacheSize ?? 100_000);
    this.burstThresholds = options.burstThresholds ?? (async () => DEFAULT_BURST_THRESHOLDS);
    this.rawRequestWindow = options.rawRequestWindow ?? DEFAULT_RAW_REQUEST_WINDOW;
  }

  /**
   * The funnel version in force, as INGEST_BEGIN read it once it held FUNNEL_VERSION_LOCK shared: a
   * new version cannot commit while this batch is evaluated under the one before it. The document
   * is read again only when the version changed; none stored yet is the shipped funnel.
   */
  private async funnelInForce(sql: Sql, begun: Record<string, unknown>[]): Promise<FunnelEvidence> {
    const version = (begun[0]?.version as number | null | undefined) ?? null;
    if (this.funnel && this.funnel.version === (version ?? 1)) return this.funnel;
    const inForce = version === null ? shippedFunnel() : (await sql<FunnelVersion>(`SELECT version, document FROM funnel_versions WHERE version = $1`, version))[0]!;
    this.funnel = new FunnelEvidence(inForce);
    return this.funnel;
  }

  async ingest(batch: IngestEvent[], options: IngestOptions = {}): Promise<IngestResult> {
    const events = firstById(batch);
    // Read before the transaction: they may need a connection of their own (PGlite has one in all).
    const thresholds = events.some((e) => e.type === 'api.request') ? await this.burstThresholds() : DEFAULT_BURST_THRESHOLDS;
    const learnt: Learnt = { funnelVersion: 0, keyOwners: new Map(), lowered: [], refused: [], bursts: newBurstLessons() };
    const result = await withTransaction(
      this.pool,
      async (sql, begun) => {
        const funnel = await this.funnelInForce(sql, begun);
        learnt.funnelVersion = funnel.version;
        return this.ingestInTransaction(sql, events, funnel, thresholds, learnt, options.imported === true);
      },
      { begin: INGEST_BEGIN, beforeCommit: () => learnt.counts },
    );
    for (const [key, owner] of learnt.keyOwners) this.keyOwners.set(key, owner);
    this.evidence.learn(learnt.funnelVersion, learnt.lowered, learnt.refused);
    this.bursts.learn(learnt.bursts);
    return { ...result, duplicates: batch.length - result.accepted - result.deleted };
  }

  /**
   * Proves that a batch can be stored now, writing nothing: an empty batch through the ingest's
   * own transaction and named statement on a pooled connection (a session that cannot prepare it,
   * a read-only or missing table, an exhausted pool all fail here as they would for a batch).
   */
  async probe(): Promise<void> {
    await withTransaction(this.pool, (sql) => storeEvents(sql, [], () => undefined, new Map(), { window: this.rawRequestWindow, finalStage: null }));
  }

  /** Owners of the keys, from memory or the api_keys table (read ones are added to `found`). */
  private async ownersOf(sql: Sql, apiKeys: string[], found: Map<string, string>): Promise<Map<string, string>> {
    const owners = new Map<string, string>();
    const unknown = apiKeys.filter((key) => {
      const owner = this.keyOwners.get(key);
      if (owner !== undefined) owners.set(key, owner);
      return owner === undefined;
    });
    for (const [key, owner] of await ownersOfKeys(sql, unknown)) {
      owners.set(key, owner);
      found.set(key, owner);
    }
    return owners;
  }

  private async ingestInTransaction(
    sql: Sql,
    batch: IngestEvent[],
    funnel: FunnelEvidence,
    thresholds: BurstThresholds,
    learnt: Learnt,
    imported: boolean,
  ): Promise<Omit<IngestResult, 'duplicates'>> {
    let events = batch;
    // Classified once per request: the user-agent patterns are the costliest per-event check.
    const sdkOf = new Map(events.map((e) => [e.id, isApiRequest(e) && this.isSdk(e.properties.userAgent)]));
    const keyEvents = events.filter((e): e is Extract<IngestEvent, { type: 'api_key.created' }> => e.type === 'api_key.created');
    const attributingKeys = [...new Set(events.filter((e) => !e.developerId).map((e) => attributingKey(e)!))];
    // Keys created here and keys not known to be mapped, in one sorted call (no lock cycles).
    await lockApiKeys(sql, [...keyEvents.map((e) => e.properties.apiKey), ...attributingKeys.filter((k) => !this.keyOwners.has(k))]);
    // A duplicate's key is not mapped: an already-stored id under other data changes nothing.
    await mapApiKeys(sql, await notStored(sql, keyEvents));
    const keyOwners = await this.ownersOf(sql, attributingKeys, learnt.keyOwners);
    const developerOf = (e: IngestEvent) => {
      const key = attributingKey(e);
      return e.developerId ?? (key === undefined ? undefined : keyOwners.get(key));
    };
    const { skipped, deleted, rolledUp, lateAttributed, lateEvents } = await storeEvents(sql, events, developerOf, sdkOf, {
      window: this.rawRequestWindow,
      finalStage: funnel.stages.at(-1) ?? null,
    });
    // A deleted developer stays deleted: nothing more of theirs is stored or reaches a journey.
    if (deleted.size > 0) events = events.filter((e) => !deleted.has(developerOf(e) ?? ''));
    const fresh = events.filter((e) => !skipped.has(e.id));
    // Only stored events make a developer: a duplicate naming another developer creates none.
    await ensureDevelopers(
      sql,
      fresh.map((e) => e.developerId).filter((id): id is string => id !== undefined),
    );
    const domainEvents = fresh.filter((e): e is DomainEvent => isBuiltInEvent(e) && e.type !== 'api.request');
    await recordProfiles(
      sql,
      domainEvents.filter((e) => e.type === 'developer.signed_up'),
    );
    await recordEmailPreferences(
      sql,
      domainEvents.filter((e) => e.type === 'consent.updated'),
    );

    const attributed: AttributedRequest[] = [...lateAttributed];
    let unattributed = 0;
    for (const e of fresh) {
      const developerId = developerOf(e);
      if (developerId === undefined) unattributed++;
      else if (isApiRequest(e)) attributed.push(toAttributed(e, developerId, sdkOf.get(e.id)!));
    }
    // Bursts and request thresholds are read from stored rows: a developer past their raw-request
    // window has none (their onboarding is over), so their requests prove single-request stages only.
    const stored = rolledUp.size === 0 ? attributed : attributed.filter((r) => !rolledUp.has(r.id));
    const burstCandidates = this.bursts.candidates(stored, thresholds);

    const candidates = new EvidenceCandidates();
    // Every stored event but requests may be a stage's evidence, or the first of its type: built-in
    // and custom, attributed now or late. Not a machine's open or click: the developer did nothing.
    const attributedEvents = fresh.flatMap((e) => {
      const developerId = developerOf(e);
      return developerId === undefined || isApiRequest(e) || isMachineEngagement(e) ? [] : [{ developerId, event: e }];
    });
    const developersEvents = [...attributedEvents, ...lateEvents];
    for (const c of funnel.ofEvents(developersEvents)) candidates.add(c);
    for (const c of await this.requestEvidence(sql, funnel, attributed, stored, [...burstCandidates.first, ...burstCandidates.continued])) candidates.add(c);
    const proposed = candidates.values();
    const lowered = await lowerStageEvidence(sql, funnel.version, proposed);
    const news = new Set(lowered);
    learnt.lowered = lowered;
    learnt.refused = proposed.filter((c) => !news.has(c));

    const journeyEvents = domainEvents
      .filter((e): e is JourneyHeardEvent => JOURNEY_EVENT_TYPES.has(e.type) && !isMachineEngagement(e) && !isSoftBounce(e))
      .map((e) => ({ developerId: e.developerId, event: toJourneyEvent(e) }));
    const signals = inEventOrder(
      [
        ...journeyEvents,
        ...(await noteFirstEvents(sql, developersEvents)),
        ...stageSignals(funnel, lowered),
        ...(await this.bursts.detect(sql, burstCandidates, thresholds, learnt.bursts)),
      ],
      funnel.stages,
    );
    await enqueueSignals(sql, imported ? signals.map((s) => ({ ...s, event: { ...s.event, imported: true as const } })) : signals);
    learnt.counts = countEventTypesSql(fresh);
    return { accepted: fresh.length, unattributed, signals: signals.length, deleted: batch.length - events.length };
  }

  /**
   * The stage evidence in the requests (stored or counted, and aggregated already; `stored`: those
   * with a raw row, which the thresholds count), only where it could lower what is stored: in-order
   * traffic past its milestones costs no read once the developer's evidence is cached.
   */
  private async requestEvidence(sql: Sql, funnel: FunnelEvidence, requests: AttributedRequest[], stored: AttributedRequest[], alsoLock: string[]): Promise<EvidenceCandidate[]> {
    if (requests.length === 0) {
      await lockDevelopers(sql, alsoLock);
      return [];
    }
    const known = await this.evidence.known(sql, funnel.version, [...new Set(requests.map((r) => r.developerId))]);
    const thresholdCandidates = funnel.thresholdCandidates(stored, known);
    // One sorted lock call for the threshold proofs and the burst counts (see lockDevelopers).
    await lockDevelopers(sql, [...[...thresholdCandidates.values()].flat().map((r) => r.developerId), ...alsoLock]);
    return [...funnel.ofRequests(requests, known), ...(await funnel.ofThresholds(sql, thresholdCandidates))];
  }
}
function firstById(batch: IngestEvent[]): IngestEvent[] {
  const seen = new Set<string>();
  return batch.filter((e) => !seen.has(e.id) && seen.add(e.id));
}

/** The api_key → developer join (docs/concepts/funnel.md#the-seven-stages), written at key creation; the first creation of a key wins. */
async function mapApiKeys(sql: Sql, keyEvents: Extract<IngestEvent, { type: 'api_key.created' }>[]): Promise<void> {
  if (keyEvents.length === 0) return;
  await sql(
    `INSERT INTO api_keys (api_key, developer_id, mode, created_at, event_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
     ON CONFLICT (api_key) DO NOTHING`,
    keyEvents.map((e) => e.properties.apiKey),
    keyEvents.map((e) => e.developerId),
    keyEvents.map((e) => e.properties.mode),
    keyEvents.map((e) => e.occurredAt),
    keyEvents.map((e) => e.id),
  );
}

/** The events not stored yet (the others are duplicates, whatever data they carry now). */
async function notStored<E extends IngestEvent>(sql: Sql, events: E[]): Promise<E[]> {
  if (events.length === 0) return events;
  const stored = new Set(
    (
      await sql<{ id: string }>(
        `SELECT id FROM events WHERE kept AND id = ANY($1::text[])`, // a key's creation is kept, with its id's index
        events.map((e) => e.id),
      )
    ).map((r) => r.id),
  );
  return events.filter((e) => !stored.has(e.id));
}

async function ownersOfKeys(sql: Sql, apiKeys: string[]): Promise<Map<string, string>> {
  if (apiKeys.length === 0) return new Map();
  const rows = await sql<{ api_key: string; developer_id: string }>(`SELECT api_key, developer_id FROM api_keys WHERE api_key = ANY($1::text[])`, apiKeys);
  return new Map(rows.map((r) => [r.api_key, r.developer_id]));
}

/** A row for every developer named by a stored event (a key's owner got one with the key's event). */
async function ensureDevelopers(sql: Sql, developerIds: string[]): Promise<void> {
  const ids = [...new Set(developerIds)].sort();
  if (ids.length === 0) return;
  await sql(`INSERT INTO developers (id) SELECT unnest($1::text[]) ON CONFLICT (id) DO NOTHING`, ids);
}

/**
 * Serialises concurrent batches of the same developers for the request thresholds, whose proof
 * must see every earlier request: taken after this batch's requests are stored and aggregated, so
 * the batch that waits sees the other's rows once it commits (READ COMMITTED: a fresh snapshot per
 * statement). Every ingest transaction takes its locks in one order — keys, events, aggregates,
 * developers' rows, these — each set sorted, so two batches never wait on each other in a cycle.
 */
export async function lockDevelopers(sql: Sql, developerIds: string[]): Promise<void> {
  const ids = [...new Set(developerIds)].sort();
  if (ids.length === 0) return;
  await sql(
    {
      name: 'ingest-lock-developers',
      text: `SELECT count(pg_advisory_xact_lock(hashtextextended(id, 0)))::int AS n FROM (SELECT id FROM unnest($1::text[]) AS id ORDER BY id) AS sorted`,
    },
    ids,
  );
}

/**
 * A request whose key is not mapped yet waits for the key's creation. The key's lock, taken by
 * both sides, orders the two: either the request sees the mapping, or the creation sees the
 * waiting request.
 */
async function lockApiKeys(sql: Sql, apiKeys: string[]): Promise<void> {
  const keys = [...new Set(apiKeys)].sort();
  if (keys.length === 0) return;
  await sql(`SELECT count(pg_advisory_xact_lock(hashtextextended(k, 1)))::int AS n FROM (SELECT k FROM unnest($1::text[]) AS k ORDER BY k) AS sorted`, keys);
}

/** The read model's profile comes from the earliest signup event. */
async function recordProfiles(sql: Sql, signups: Extract<IngestEvent, { type: 'developer.signed_up' }>[]): Promise<void> {
  const earliest = new Map<string, (typeof signups)[number]>();
  for (const s of signups) {
    const current = earliest.get(s.developerId);
    if (!current || isEarlier({ occurredAt: s.occurredAt, eventId: s.id }, { occurredAt: current.occurredAt, eventId: current.id })) earliest.set(s.developerId, s);
  }
  const rows = [...earliest.values()].sort((a, b) => (a.developerId < b.developerId ? -1 : 1)); // lock order
  if (rows.length === 0) return;
  await sql(
    `UPDATE developers d SET email = u.email, account_type = u.account_type, org_id = u.org_id,
       acquisition_channel = u.channel, timezone = u.timezone, name = u.name, locale = u.locale, signed_up_at = u.at, signup_event_id = u.event_id, updated_at = now()
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[], $9::text[], $10::text[])
       AS u(id, email, account_type, org_id, channel, timezone, at, event_id, name, locale)
     WHERE d.id = u.id AND (d.signed_up_at IS NULL OR ${isEarlierSql(['u.at', 'u.event_id'], ['d.signed_up_at', 'd.signup_event_id'])})`,
    rows.map((s) => s.developerId),
    rows.map((s) => s.properties.email),
    rows.map((s) => s.properties.accountType),
    rows.map((s) => s.properties.orgId ?? null),
    rows.map((s) => s.properties.acquisitionChannel),
    rows.map((s) => s.properties.timezone ?? null),
    rows.map((s) => s.occurredAt),
    rows.map((s) => s.id),
    rows.map((s) => s.properties.name ?? null),
    rows.map((s) => s.properties.locale ?? null),
  );
}

function toAttributed(r: ApiRequestEvent, developerId: string, sdk: boolean): AttributedRequest {
  const p = r.properties;
  return { id: r.id, developerId, endpoint: p.endpoint, method: p.method, status: p.status, mode: p.mode, sdk, occurredAt: r.occurredAt };
}

export interface QueuedSignal {
  developerId: string;
  event: JourneyEvent;
}

/**
 * The events a journey decides on besides its stages: the profile and consent (nudging), email
 * engagement, email that does not reach them (a hard bounce, a complaint), support tickets
 * (handoff). Stages reach it as `stage.proved`, whatever proves them.
 */
const JOURNEY_EVENT_TYPES = new Set<string>([
  'developer.signed_up',
  'consent.updated',
  'email.opened',
  'email.clicked',
  'email.bounced',
  'email.complained',
  'support.ticket_created',
] satisfies JourneyHeardEvent['type'][]);

/** A soft bounce (a full mailbox, a server down for a while) is stored, but no journey hears of it: the next email may arrive. */
const isSoftBounce = (event: { type: string; properties?: unknown }): boolean =>
  event.type === 'email.bounced' && (event.properties as { bounceType?: unknown } | undefined)?.bounceType === 'soft';

/** A machine's open or click (a proxy's prefetch, a link scanner) is stored, but no journey hears of it: no engagement, no first event, no stage evidence. */
const isMachineEngagement = (event: { type: string; properties?: unknown }): boolean =>
  (event.type === 'email.opened' || event.type === 'email.clicked') && (event.properties as { machine?: unknown } | undefined)?.machine === true;

/** A signal per proof that just lowered the stored evidence: each carries its funnel version's stage list. */
function stageSignals(funnel: FunnelEvidence, lowered: EvidenceCandidate[]): QueuedSignal[] {
  const journeyFunnel = { version: funnel.version, stages: funnel.stages };
  return lowered.map((c) => ({
    developerId: c.developerId,
    event: {
      id: stageProvedSignalId(c.eventId, c.stage, funnel.version),
      type: 'stage.proved',
      stage: c.stage,
      occurredAt: c.occurredAt,
      causeEventId: c.eventId,
      funnel: journeyFunnel,
    },
  }));
}

/**
 * The order a journey hears one batch's signals in: event time, then the cause's id (isEarlier's
 * total order), then funnel order for the stages one event proves. Events, stage proofs and bursts
 * merged, so a batch that tells a history in order is heard in order and no stage it proves is
 * recorded as late (filled in after a later stage) for having been queued second.
 */
function inEventOrder(signals: QueuedSignal[], stages: readonly string[]): QueuedSignal[] {
  const key = ({ event }: QueuedSignal) => ({ occurredAt: event.occurredAt, eventId: event.type === 'stage.proved' ? event.causeEventId : event.id });
  const rank = ({ event }: QueuedSignal) => (event.type === 'stage.proved' ? stageRank(stages, event.stage) : -1);
  return signals.sort((a, b) => (isEarlier(key(a), key(b)) ? -1 : isEarlier(key(b), key(a)) ? 1 : rank(a) - rank(b)));
}

export async function enqueueSignals(sql: Sql, signals: QueuedSignal[]): Promise<void> {
  if (signals.length === 0) return;
  await sql(
    `INSERT INTO outbox_signals (developer_id, signal_id, payload)
     SELECT d, s, p::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS u(d, s, p)`,
    signals.map((s) => s.developerId),
    signals.map((s) => s.event.id),
    signals.map((s) => JSON.stringify(s.event)),
  );
}
