/**
 * What a person needs to act on a handoff case: gathered by the handoff activities from the
 * journey and the read model, rendered into Slack (Block Kit) and returned by the API.
 */

export type CaseStatus = 'open' | 'claimed' | 'snoozed' | 'returned' | 'resolved';

export const CLOSED_STATUSES: readonly CaseStatus[] = ['returned', 'resolved'];

export interface CaseView {
  id: string;
  developerId: string;
  status: CaseStatus;
  /** `stall:<id>`, `support_ticket`, `error_burst_continued`, `no_email_engagement`, `rule:<id>`. */
  criterion: string;
  /** Why it escalated, for people ("no first call 7 days after the key"). */
  reason: string;
  /** The nudge rule and its version, when a rule's `escalate` action opened the case. */
  rule?: { id: string; version: number };
  policyVersion: number;
  /** 1-based escalation level. */
  level: number;
  owner: string | null;
  openedAt: string;
  claimedAt: string | null;
  /** While unclaimed: when the case moves to the next level. */
  claimDueAt: string | null;
  resolveDueAt: string;
  snoozedUntil: string | null;
  /** SLAs breached so far. */
  breaches: ('claim' | 'resolution')[];
  closedAt: string | null;
  outcome: string | null;
  /** What `resolve` may record (the policy version's outcomes). */
  outcomes: string[];
}

export interface DeveloperProfile {
  id: string;
  /** Masked unless the policy allows it (`privacy.showEmail`). */
  email: string | null;
  accountType: string | null;
  orgId: string | null;
  channel: string | null;
  timezone: string | null;
}

export interface TimelineEntry {
  at: string;
  /** e.g. `reached First API call` (the stage's label), `nudge sent: first-call-help`, `email.opened`, `email.bounced`, `support.ticket_created`. */
  what: string;
}

export interface NudgeSummary {
  at: string;
  template: string | null;
  ruleId: string;
  outcome: string;
  reason: string | null;
}

export interface CaseContext {
  developer: DeveloperProfile;
  /** Where the journey stands, in the funnel version it follows: the stage's id and how people see it (stageLabel). */
  stage: { id: string; label: string } | null;
  stageReachedAt: string | null;
  /** Seconds since the current stage was reached (at the time the context was gathered). */
  stuckForSeconds: number | null;
  timeline: TimelineEntry[];
  nudges: NudgeSummary[];
  /** What the developer did with the nudges: opens and clicks counted by the journey. */
  engagement: { opened: number; clicked: number; segment: string };
  /** Email does not reach them, e.g. "email does not reach them: hard bounce on 2026-12-09" (absent: no hard bounce or complaint). */
  emailSuppressed?: string;
  /** First-session error diagnosis, e.g. "12 × 401 on /v1/charges: credentials used wrongly". */
  diagnosis: string[];
  /** Link to the journey (API or dashboard). */
  journeyUrl: string;
}
