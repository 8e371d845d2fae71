import { localDueLabel } from '../journey/business-time.ts';
import { pathSafeCaseId } from './case-id.ts';

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
  /** Resolved: the friction the agent named (one of the policy's `frictions`); absent or null: none. */
  friction?: string | null;
  /**
   * The time zone whose office hours each due time counts in (null: around the clock): present
   * only on a case whose policy has office hours.
   */
  officeHours?: { claim: string | null; resolution: string | null };
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
  /** The journey as JSON (`GET /v1/developers/:id/journey`). */
  journeyUrl: string;
  /** The journey in the dashboard (`/dashboard?developer=`). */
  dashboardUrl: string;
  /** The agents' inbox page (`/dashboard/handoffs`); one case: caseUrlOf. */
  inboxUrl: string;
}

/** The inbox page opened at one case: where Slack's "Open case" leads. */
export function caseUrlOf(context: Pick<CaseContext, 'inboxUrl'>, caseId: string): string {
  return `${context.inboxUrl}?case=${encodeURIComponent(pathSafeCaseId(caseId))}`;
}

/** Why the case was opened: what the Slack post's "Why it escalated" line says. */
export interface CaseEscalation {
  criterion: string;
  reason: string;
  rule?: { id: string; version: number };
  policyVersion: number;
  openedAt: string;
}

/** Where the case stands against its SLAs: what the Slack post's status line says. */
export interface SlaState {
  level: number;
  /** While unclaimed: when the case moves up a level. */
  claimDueAt: string | null;
  /** While open: by when it must be resolved. */
  resolveDueAt: string | null;
  breaches: ('claim' | 'resolution')[];
  snoozedUntil: string | null;
  /**
   * The next deadline while the case is open, the queue's order: the snooze end while snoozed, the
   * claim SLA while unclaimed (the resolution SLA past the last level), the resolution SLA once
   * claimed. (The migration that added `handoffs.due_at` computes the same in SQL.)
   */
  dueAt: string | null;
  /** Due times in office hours, as people there read them (`Mon 2026-12-14 13:00 Europe/Paris`); null: not in office hours, or not due. */
  businessHours?: { claimDue: string | null; resolveDue: string | null };
}

/** The whole case for a person: the developer's context, why it escalated and its SLA state. */
export interface WholeCaseContext extends CaseContext {
  /** This case in the inbox page. */
  caseUrl: string;
  escalation: CaseEscalation;
  sla: SlaState;
}

/** A case in a queue: where the developer is stuck, for how long, the first diagnosis line and the SLA state. */
export interface CaseSummary {
  stage: string | null;
  stuckForSeconds: number | null;
  diagnosis: string | null;
  sla: SlaState;
}

export function escalationOf(view: CaseView): CaseEscalation {
  return { criterion: view.criterion, reason: view.reason, ...(view.rule ? { rule: view.rule } : {}), policyVersion: view.policyVersion, openedAt: view.openedAt };
}

/** A due time counts only while it can still fall due: claim while unclaimed, resolution while open. */
export function slaStateOf(view: CaseView): SlaState {
  const open = !CLOSED_STATUSES.includes(view.status);
  const claimDueAt = open && view.status === 'open' ? view.claimDueAt : null;
  const resolveDueAt = open ? view.resolveDueAt : null;
  const snoozedUntil = view.status === 'snoozed' ? view.snoozedUntil : null;
  return {
    level: view.level,
    claimDueAt,
    resolveDueAt,
    breaches: view.breaches,
    snoozedUntil,
    dueAt: snoozedUntil ?? claimDueAt ?? resolveDueAt,
    ...(view.officeHours ? { businessHours: { claimDue: localDue(claimDueAt, view.officeHours.claim), resolveDue: localDue(resolveDueAt, view.officeHours.resolution) } } : {}),
  };
}

const localDue = (at: string | null, timeZone: string | null) => (at && timeZone ? `${localDueLabel(Date.parse(at), timeZone)} ${timeZone}` : null);
