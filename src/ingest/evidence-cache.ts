import { LRUCache } from 'lru-cache';
import type { Sql } from '../db/sql.ts';
import { isEarlier, type Evidence } from '../journey/evidence.ts';
import { evidenceKey, storedEvidence, type EvidenceCandidate } from './stage-evidence.ts';

/**
 * What this process last saw of each developer's stored earliest evidence, so that steady gateway
 * traffic (requests later than every milestone they could prove) costs no read.
 *
 * Stored evidence only ever moves earlier, so a cached time is an upper bound of the stored one: a
 * request no earlier than it cannot lower it. A stale entry or a stale absence (another process
 * stored something) only lets a candidate through to the conditional write, which decides
 * correctly; a candidate that write refuses makes the developer's entry be read again.
 */
export class EvidenceCache {
  private readonly developers: LRUCache<string, Map<string, Evidence>>;

  constructor(maxDevelopers: number) {
    this.developers = new LRUCache({ max: maxDevelopers });
  }

  /** The stored evidence of these developers by `evidenceKey`, read from the database where not cached. */
  async known(sql: Sql, developerIds: string[]): Promise<Map<string, Evidence>> {
    const missing = developerIds.filter((id) => !this.developers.has(id));
    const read = await storedEvidence(sql, missing);
    for (const id of missing) this.developers.set(id, new Map());
    for (const [key, evidence] of read) this.developers.get(key.slice(0, key.indexOf('\u0000')))!.set(key, evidence);
    const known = new Map<string, Evidence>();
    for (const id of developerIds) for (const [key, evidence] of this.developers.get(id) ?? []) known.set(key, evidence);
    return known;
  }

  /** After commit: `lowered` is now stored; the others' entries are stale. */
  learn(lowered: EvidenceCandidate[], refused: EvidenceCandidate[]): void {
    for (const c of lowered) {
      const stages = this.developers.get(c.developerId);
      const key = evidenceKey(c.developerId, c.stage);
      const cached = stages?.get(key);
      if (stages && (!cached || isEarlier(c, cached))) stages.set(key, { occurredAt: c.occurredAt, eventId: c.eventId });
    }
    for (const c of refused) this.developers.delete(c.developerId);
  }
}
