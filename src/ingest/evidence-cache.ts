import { LRUCache } from 'lru-cache';
import type { Sql } from '../db/sql.ts';
import type { Evidence } from '../journey/evidence.ts';
import { isEarlier } from '../journey/evidence-order.ts';
import { storedEvidence, type EvidenceCandidate } from './stage-evidence.ts';

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
  /** Per developer, the stored evidence by stage. */
  private readonly developers: LRUCache<string, Map<string, Evidence>>;
  /** The funnel version the entries are of: another version's evidence is another table's, in effect. */
  private funnelVersion: number | undefined;

  constructor(maxDevelopers: number) {
    this.developers = new LRUCache({ max: maxDevelopers });
  }

  /**
   * The stored evidence of these developers, read from the database where not cached, as a lookup
   * by developer and stage.
   */
  async known(sql: Sql, funnelVersion: number, developerIds: string[]): Promise<(developerId: string, stage: string) => Evidence | undefined> {
    if (funnelVersion !== this.funnelVersion) {
      this.developers.clear();
      this.funnelVersion = funnelVersion;
    }
    const missing = developerIds.filter((id) => !this.developers.has(id));
    const read = await storedEvidence(sql, funnelVersion, missing);
    for (const id of missing) this.developers.set(id, new Map());
    for (const { developerId, stage, evidence } of read) this.developers.get(developerId)!.set(stage, evidence);
    const stagesOf = new Map(developerIds.map((id) => [id, this.developers.get(id)]));
    return (developerId, stage) => stagesOf.get(developerId)?.get(stage);
  }

  /** After commit: `lowered` is now stored (under `funnelVersion`); the others' entries are stale. */
  learn(funnelVersion: number, lowered: EvidenceCandidate[], refused: EvidenceCandidate[]): void {
    if (funnelVersion !== this.funnelVersion) return;
    for (const c of lowered) {
      const stages = this.developers.get(c.developerId);
      const cached = stages?.get(c.stage);
      if (stages && (!cached || isEarlier(c, cached))) stages.set(c.stage, { occurredAt: c.occurredAt, eventId: c.eventId });
    }
    for (const c of refused) this.developers.delete(c.developerId);
  }
}
