import type { IngestEvent } from '../events/event-schemas.ts';
import type { Stage } from '../journey/stages.ts';
import type { EmailHabit } from './personas.ts';

/**
 * The simulator's vocabulary: a synthetic developer is a profile, the events it generated (the
 * ingest contract, in event-time order) and the ground truth of what it did, so that every metric
 * computed from those events can be checked against what was generated.
 */

export type Channel = 'organic_search' | 'listing_site' | 'paid' | 'referral' | 'direct' | 'other';
export type AccountType = 'individual' | 'organization';

export interface SimulatedProfile {
  id: string;
  email: string;
  accountType: AccountType;
  orgId?: string;
  channel: Channel;
  timezone: string;
  signedUpAt: string;
}

/** What the generator made happen, independently of how Onramp derives stages. */
export interface GroundTruth {
  /** Earliest proof of each stage reached (ISO instants); absent = never reached. */
  stages: Record<Stage, string>;
  /** The developer's requests used an SDK user agent (null: no requests). */
  sdk: boolean | null;
  requests: { total: number; sdk: number; raw: number };
  /** Distinct endpoints called successfully in the 24 h after the first call. */
  firstSessionEndpoints: number;
  /** Requests (any status) in the first session: the 24 h from the first request, both ends included. */
  firstSessionRequests: number;
  /** Errors among them, by status. */
  firstSessionErrors: Partial<Record<'401' | '400' | '429' | '5xx', number>>;
  /** Support tickets opened. */
  tickets: number;
  /** How this developer treats email (what `reactToNudge` does with a nudge). */
  emailHabit: EmailHabit;
}

export interface SimulatedDeveloper {
  profile: SimulatedProfile;
  /** Every event generated for this developer, sorted by occurredAt (ties: id). */
  events: IngestEvent[];
  truth: GroundTruth;
}
