import type { CaseStatus, CaseView } from '../cases/case-context.ts';
import type { ActivePolicy, StallCriterion } from '../rules/escalation-policy-schema.ts';
import { durationMs } from '../rules/duration.ts';
import { addBusinessTime, scheduleOf, type OfficeHours } from './business-time.ts';
import { currentStage, type EvidenceByStage } from './evidence.ts';
import { RISK_RECHECK_MS, riskCrossing, type RiskCrossings } from './risk-crossings.ts';
import type { HandoffEffect, HandoffStepEffect, HandoffStepKind, JourneySnapshotSummary, NotifySlackEffect } from './journey-effects.ts';
import { stageRank, type Stage } from './stages.ts';

/**
 * Handoff to a person, as pure functions of the journey's state, the escalation policy in force
 * and the workflow's clock (passed in): which criterion escalates, the SLAs that move a case up a
 * level, and what agents do to it (claim, note, snooze, return, resolve). Every step is an effect
 * (a log row with the case after it, and a Slack notification); nothing here does I/O.
 */

/** Why a developer should go to a person; each key escalates at most once per developer. */
export interface EscalationRequest {
  /** `stall:<id>`, `support_ticket:<eventId>`, `error_burst_continued:<kind>`, `no_email_engagement`, `rule:<id>`. */
  key: string;
  criterion: string;
  reason: string;
  rule?: { id: string; version: number };
  detail?: Record<string, unknown>;
  /** Caused by imported history (a backfill): marked escalated, no case is opened. */
  backfill?: true;
}

export interface ActiveCase {
  id: string;
  criterion: string;
  reason: string;
  rule?: { id: string; version: number };
  policyVersion: number;
  status: Exclude<CaseStatus, 'returned' | 'resolved'>;
  /** 1-based. */
  level: number;
  owner?: string;
  claimedAt?: number;
  openedAt: number;
  /** While unclaimed and a higher level is left, or the breach is not yet marked. */
  claimDueAt?: number;
  /** Until the resolution SLA breach is marked. */
  resolveDueAt?: number;
  resolveBy: number;
  snoozedUntil?: number;
  beforeSnooze?: 'open' | 'claimed';
  breaches: ('claim' | 'resolution')[];
  /**
   * The policy version's levels, outcomes and claim SLA, kept so that agent actions need no policy.
   * A level's office hours (its own, or the policy's) are kept only when there are some.
   */
  levels: { channel: string; mention: string[]; officeHours?: OfficeHours }[];
  outcomes: string[];
  stopNudgesOn: string[];
  claimSlaMs: number;
  steps: number;
}

export interface ClosedCase {
  id: string;
  status: 'returned' | 'resolved';
  outcome: string | null;
  closedAt: number;
}

export interface HandoffState {
  /** Cases opened so far (numbers the ids). */
  opened: number;
  active?: ActiveCase;
  lastClosed?: ClosedCase;
  /** Request keys that have escalated (or joined an open case). */
  escalated: string[];
  /** Heard from events since the last decision. */
  requests: EscalationRequest[];
  /** When the last case closed: automated nudges restart their clocks here. */
  resumedAt?: number;
  /** A resolution whose outcome stops automated nudges for good (e.g. not a fit). */
  nudgesStopped?: boolean;
}

export function initialHandoffState(): HandoffState {
  return { opened: 0, escalated: [], requests: [] };
}

/** What an agent does to a case (Slack button or `POST /v1/handoffs/:id/actions`). */
export interface HandoffAction {
  type: 'handoff.action';
  caseId: string;
  action: 'claim' | 'note' | 'snooze' | 'return' | 'resolve';
  actor: string;
  /** The note's id in PostgreSQL (`handoff_notes`): what the edge sends since notes left the history. */
  noteId?: string;
  /** The note's text: only in updates recorded before `noteId` (in-flight histories replay with it). */
  note?: string;
  snoozeMs?: number;
  outcome?: string;
  /**
   * A resolve's friction (one of the policy's, checked by the edge): kept in the `resolved` step
   * and the closed case's view. Replay-safe without a patch: updates recorded before frictions
   * carry none, so their steps are what they were.
   */
  friction?: string;
  /** A claim of a case someone else owns: taking it over, explicitly (without it the claim is refused). */
  takeOver?: boolean;
  /**
   * Why this actor may act on a case someone else owns: the admin key, or a policy that lets any
   * agent act (`agents.anyMayAct`, read by the edge). Checked by `actionProblem` only.
   */
  bypassOwner?: 'admin' | 'policy';
  /** Workflow time of the action. */
  at: number;
}

/** Why an action cannot apply; the workflow rejects it before it touches the journey. */
export function actionProblem(
  state: HandoffState | undefined,
  action: Omit<HandoffAction, 'type' | 'at'>,
): { code: 'not_found' | 'closed' | 'invalid' | 'owned'; message: string; owner?: string } | undefined {
  const active = state?.active;
  if (!active || active.id !== action.caseId) {
    if (state?.lastClosed?.id === action.caseId || (state && caseNumber(action.caseId) !== undefined && caseNumber(action.caseId)! <= state.opened)) {
      return { code: 'closed', message: `case ${action.caseId} is closed` };
    }
    return { code: 'not_found', message: `no case ${action.caseId}` };
  }
  const owner = ownerOf(active);
  if (owner !== undefined && owner !== action.actor && action.bypassOwner !== 'admin') {
    // Taking over is always explicit; the policy may let any agent do the rest.
    if (action.action === 'claim' && !action.takeOver) {
      return { code: 'owned', owner, message: `case ${action.caseId} is claimed by ${owner}: claim with takeOver to take it over` };
    }
    if (action.action !== 'claim' && action.bypassOwner !== 'policy') {
      return { code: 'owned', owner, message: `case ${action.caseId} is claimed by ${owner}: only they may ${action.action} it (or take it over first)` };
    }
  }
  if (action.action === 'resolve' && (!action.outcome || !active.outcomes.includes(action.outcome))) {
    return { code: 'invalid', message: `outcome must be one of: ${active.outcomes.join(', ')}` };
  }
  if (action.action === 'note' && !action.noteId && !action.note?.trim()) return { code: 'invalid', message: 'a note needs text' };
  if (action.action === 'snooze' && !(action.snoozeMs && action.snoozeMs > 0)) return { code: 'invalid', message: 'snooze needs a positive duration' };
  return undefined;
}

/** Who owns a case: its claimer, while it is claimed (or snoozed from claimed). */
function ownerOf(c: ActiveCase): string | undefined {
  return c.status === 'claimed' || (c.status === 'snoozed' && c.beforeSnooze === 'claimed') ? c.owner : undefined;
}

function caseNumber(caseId: string): number | undefined {
  const match = /\/h(\d+)$/.exec(caseId);
  return match ? Number(match[1]) : undefined;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/**
 * When an SLA of `slaMs` started at `now` at `level` falls due: within that level's office hours,
 * or around the clock (`now + slaMs`, exactly as before office hours existed) when it has none.
 * No patch: the policy reaches the workflow as the recorded result of a local activity
 * (`currentJourneyPolicies`), and every history recorded before office hours holds policies
 * without them (the strict schema refused unknown fields), so replay takes the wall-clock branch
 * and issues the same timers (docs/concepts/versioning.md, step 4).
 */
function slaDueAt(c: Pick<ActiveCase, 'levels'>, level: number, now: number, slaMs: number): number {
  const hours = c.levels[level - 1]?.officeHours;
  return hours ? addBusinessTime(now, slaMs, scheduleOf(hours)) : now + slaMs;
}

/** The zones whose office hours the due times count in: only on a case that has office hours. */
function officeHoursView(c: ActiveCase): Pick<CaseView, 'officeHours'> {
  if (!c.levels.some((level) => level.officeHours)) return {};
  return { officeHours: { claim: c.levels[c.level - 1]?.officeHours?.timeZone ?? null, resolution: c.levels[0]?.officeHours?.timeZone ?? null } };
}

export function caseView(developerId: string, c: ActiveCase, closed?: Closing & { at: number }): CaseView {
  return {
    id: c.id,
    developerId,
    status: closed?.status ?? c.status,
    criterion: c.criterion,
    reason: c.reason,
    ...(c.rule ? { rule: c.rule } : {}),
    policyVersion: c.policyVersion,
    level: c.level,
    owner: c.owner ?? null,
    openedAt: iso(c.openedAt)!,
    claimedAt: iso(c.claimedAt),
    claimDueAt: closed ? null : iso(c.claimDueAt),
    resolveDueAt: iso(c.resolveBy)!,
    snoozedUntil: closed ? null : iso(c.snoozedUntil),
    breaches: [...c.breaches],
    closedAt: closed ? iso(closed.at) : null,
    outcome: closed?.outcome ?? null,
    outcomes: [...c.outcomes],
    ...(closed?.friction ? { friction: closed.friction } : {}),
    ...officeHoursView(c),
  };
}

/** How a case closes: returned, or resolved with an outcome (and the friction behind it, if the agent named one). */
interface Closing {
  status: 'returned' | 'resolved';
  outcome: string | null;
  friction?: string;
}

interface StepContext {
  developerId: string;
  snapshot: JourneySnapshotSummary;
}

/** Mutable working copy for one decision or action; `effects` collects what to record and send. */
class CaseSteps {
  readonly effects: HandoffEffect[] = [];
  constructor(
    readonly state: HandoffState,
    private readonly ctx: StepContext,
  ) {}

  step(c: ActiveCase, step: HandoffStepKind, actor: string | null, at: number, detail: Record<string, unknown>, options: { closed?: Closing; post?: number } = {}) {
    c.steps++;
    const view = caseView(this.ctx.developerId, c, options.closed ? { ...options.closed, at } : undefined);
    const stepKey = `${c.id}/${c.steps}`;
    const atIso = new Date(at).toISOString();
    this.effects.push({
      type: 'recordHandoffStep',
      developerId: this.ctx.developerId,
      stepKey,
      step,
      actor,
      at: atIso,
      detail,
      case: view,
      revision: c.steps,
      snapshot: this.ctx.snapshot,
    });
    const level = options.post === undefined ? undefined : c.levels[options.post - 1];
    this.effects.push({
      type: 'notifySlack',
      developerId: this.ctx.developerId,
      case: view,
      revision: c.steps,
      ...(level ? { post: { level: options.post!, channel: level.channel, mention: level.mention } } : {}),
      step: { stepKey, step, actor, at: atIso, detail },
    });
  }

  open(request: EscalationRequest, policy: ActivePolicy, now: number) {
    const doc = policy.document;
    this.state.opened++;
    const levels = doc.levels.map((l) => {
      const officeHours = l.officeHours ?? doc.officeHours;
      return { channel: l.channel, mention: l.mention ?? [], ...(officeHours ? { officeHours } : {}) };
    });
    // Both clocks start at level 1, in its office hours.
    const resolveDueAt = slaDueAt({ levels }, 1, now, durationMs(doc.resolutionSla));
    const c: ActiveCase = {
      id: `${this.ctx.developerId}/h${this.state.opened}`,
      criterion: request.criterion,
      reason: request.reason,
      ...(request.rule ? { rule: request.rule } : {}),
      policyVersion: policy.version,
      status: 'open',
      level: 1,
      openedAt: now,
      claimDueAt: slaDueAt({ levels }, 1, now, durationMs(doc.claimSla)),
      resolveDueAt,
      resolveBy: resolveDueAt,
      breaches: [],
      levels,
      outcomes: [...doc.outcomes],
      stopNudgesOn: [...doc.stopNudgesOn],
      claimSlaMs: durationMs(doc.claimSla),
      steps: 0,
    };
    this.state.active = c;
    this.step(
      c,
      'escalated',
      null,
      now,
      { criterion: request.criterion, reason: request.reason, ...(request.rule ? { rule: request.rule } : {}), ...(request.detail ?? {}) },
      { post: 1 },
    );
  }

  /** Marks the breach and moves the case one level up; false when it was at the last level. */
  breach(c: ActiveCase, sla: 'claim' | 'resolution', now: number): boolean {
    if (!c.breaches.includes(sla)) c.breaches.push(sla);
    const next = c.level < c.levels.length ? c.level + 1 : undefined;
    this.step(c, 'sla_breached', null, now, { sla, level: c.level, ...(next ? { escalatedTo: next } : {}) });
    if (!next) return false;
    c.level = next;
    this.step(c, 're_escalated', null, now, { level: next, channel: c.levels[next - 1]!.channel, sla }, { post: next });
    return true;
  }

  close(c: ActiveCase, closing: Closing, actor: string, at: number, detail: Record<string, unknown>) {
    const { status, outcome } = closing;
    this.step(c, status, actor, at, detail, { closed: closing });
    this.state.active = undefined;
    this.state.lastClosed = { id: c.id, status, outcome, closedAt: at };
    this.state.resumedAt = at;
    if (outcome && c.stopNudgesOn.includes(outcome)) this.state.nudgesStopped = true;
  }
}

export interface HandoffDecisionInput {
  developerId: string;
  evidence: EvidenceByStage;
  /** The stages of the funnel the journey follows, in order. */
  stages: readonly Stage[];
  state: HandoffState;
  policy: ActivePolicy;
  accountType: string | undefined;
  /** The acquisition channel: with the account type, the segment a risk is measured in. */
  channel: string | undefined;
  /** When the risk of each risk criterion crosses (read with the policy); absent: risk criteria wait for `after`. */
  risk?: RiskCrossings;
  /** Escalations the nudge decisions asked for (a rule's escalate action, email not reaching them). */
  fromNudges: EscalationRequest[];
  snapshot: JourneySnapshotSummary;
  now: number;
  /** Imported events arrived since the last decision: stalls already due are the past (no case). */
  backfill?: boolean;
}

/** Deadlines first (snooze end, SLA breaches), then new escalations (one case at a time). */
export function decideHandoff(input: HandoffDecisionInput): { state: HandoffState; effects: HandoffEffect[] } {
  const { policy, now } = input;
  const state: HandoffState = { ...input.state, escalated: [...input.state.escalated], requests: [], ...(input.state.active ? { active: cloneCase(input.state.active) } : {}) };
  const steps = new CaseSteps(state, { developerId: input.developerId, snapshot: input.snapshot });
  const c = state.active;

  if (c) {
    if (c.snoozedUntil !== undefined && c.snoozedUntil <= now) {
      c.status = c.beforeSnooze ?? 'open';
      const until = c.snoozedUntil;
      c.snoozedUntil = undefined;
      c.beforeSnooze = undefined;
      steps.step(c, 'snooze_ended', null, now, { snoozedUntil: new Date(until).toISOString() });
    }
    // SLAs wait while a case is snoozed, and are checked when the snooze ends.
    if (c.status !== 'snoozed') {
      if (c.status === 'open' && c.claimDueAt !== undefined && c.claimDueAt <= now) {
        // Each level gets the claim SLA again, in its office hours; past the last level the breach is only marked.
        c.claimDueAt = steps.breach(c, 'claim', now) ? slaDueAt(c, c.level, now, c.claimSlaMs) : undefined;
      }
      if (c.resolveDueAt !== undefined && c.resolveDueAt <= now) {
        c.resolveDueAt = undefined;
        steps.breach(c, 'resolution', now);
      }
    }
  }

  const requests = [...input.state.requests, ...stallRequests(input, state), ...input.fromNudges].filter((r) => !state.escalated.includes(r.key) && criterionEnabled(r, policy));
  for (const request of requests) {
    state.escalated.push(request.key);
    if (request.backfill) continue; // the imported past: escalated once already, as far as the journey goes
    if (!state.active) steps.open(request, policy, now);
    else if (request.criterion === 'support_ticket') steps.step(state.active, 'ticket', null, now, { ...(request.detail ?? {}) });
  }
  return { state, effects: steps.effects };
}

function criterionEnabled(request: EscalationRequest, policy: ActivePolicy): boolean {
  const { criteria } = policy.document;
  switch (request.criterion) {
    case 'support_ticket':
      return criteria.supportTicket.enabled;
    case 'error_burst_continued':
      return criteria.errorBurstAfterNudge.enabled;
    case 'no_email_engagement':
      return criteria.noEmailEngagement.enabled;
    default:
      return true;
  }
}

function stallThreshold(stall: StallCriterion, accountType: string | undefined): number {
  return durationMs(accountType === 'organization' && stall.organizationAfter ? stall.organizationAfter : stall.after);
}

/** Who a stall is judged for: their segment, the risk crossings read with the policy, and the clock. */
export interface StallSubject {
  accountType: string | undefined;
  channel: string | undefined;
  risk?: RiskCrossings;
  now: number;
}

/**
 * When one criterion's stall falls due, while `since` is reached and `until` (or later) is not:
 * `after` past `since`, or sooner, for a criterion with `risk` while the developer is still in
 * `since`, when their risk crosses (`recheckAt`: the curves cannot tell yet, look again then).
 */
function stallDue(stall: StallCriterion, evidence: EvidenceByStage, stages: readonly Stage[], who: StallSubject): { at: number; byRisk: boolean; recheckAt?: number } | undefined {
  const since = evidence[stall.since];
  if (!since) return undefined;
  const current = currentStage(evidence, stages);
  if (current !== null && stageRank(stages, current) >= stageRank(stages, stall.until)) return undefined;
  const sinceAt = Date.parse(since.occurredAt);
  const at = sinceAt + stallThreshold(stall, who.accountType);
  if (stall.risk === undefined || current !== stall.since) return { at, byRisk: false };
  const crossing = riskCrossing(who.risk, `stall:${stall.id}`, who.channel, who.accountType);
  if (crossing === null || sinceAt + crossing >= at) return { at, byRisk: false, ...(crossing === null ? { recheckAt: who.now + RISK_RECHECK_MS } : {}) };
  return { at: sinceAt + crossing, byRisk: true };
}

const HOUR = 3_600_000;
const humanDuration = (ms: number) => (ms % (24 * HOUR) === 0 ? `${ms / (24 * HOUR)} days` : `${Math.round(ms / HOUR)} hours`);
const label = (stage: Stage) => stage.replaceAll('_', ' ');

function stallRequests(input: HandoffDecisionInput, state: HandoffState): EscalationRequest[] {
  return input.policy.document.criteria.stalls
    .filter((stall) => !state.escalated.includes(`stall:${stall.id}`))
    .flatMap((stall) => {
      const due = stallDue(stall, input.evidence, input.stages, input);
      if (due === undefined || due.at > input.now) return [];
      const sinceAt = input.evidence[stall.since]!.occurredAt;
      const reason = due.byRisk
        ? `stagnation risk in ${label(stall.since)} above ${Math.round(stall.risk!.above * 100)}% after ${humanDuration(due.at - Date.parse(sinceAt))}`
        : `no ${label(stall.until)} ${humanDuration(stallThreshold(stall, input.accountType))} after ${label(stall.since)}${input.accountType === 'organization' && stall.organizationAfter ? ' (organization)' : ''}`;
      return [
        {
          ...(input.backfill ? { backfill: true as const } : {}),
          key: `stall:${stall.id}`,
          criterion: `stall:${stall.id}`,
          reason,
          detail: {
            since: stall.since,
            until: stall.until,
            sinceAt,
            ...(due.byRisk && input.risk ? { risk: { above: stall.risk!.above, curvesAsOf: input.risk.asOf } } : {}),
          },
        },
      ];
    });
}

/** When the handoff next needs a decision: a snooze end, an SLA, a stall threshold. */
export function nextHandoffWake(state: HandoffState, policy: ActivePolicy, evidence: EvidenceByStage, stages: readonly Stage[], who: StallSubject): number | undefined {
  const times: number[] = [];
  const c = state.active;
  if (c) {
    if (c.status === 'snoozed' && c.snoozedUntil !== undefined) times.push(c.snoozedUntil);
    else {
      if (c.status === 'open' && c.claimDueAt !== undefined) times.push(c.claimDueAt);
      if (c.resolveDueAt !== undefined) times.push(c.resolveDueAt);
    }
  }
  for (const stall of policy.document.criteria.stalls) {
    if (state.escalated.includes(`stall:${stall.id}`)) continue;
    const due = stallDue(stall, evidence, stages, who);
    if (due !== undefined) times.push(due.recheckAt === undefined ? due.at : Math.min(due.at, due.recheckAt));
  }
  return times.length > 0 ? Math.min(...times) : undefined;
}

/** Applies an agent's action (already checked with `actionProblem`). */
export function applyHandoffAction(
  developerId: string,
  before: HandoffState,
  action: HandoffAction,
  snapshot: JourneySnapshotSummary,
): { state: HandoffState; effects: HandoffEffect[] } {
  const state: HandoffState = { ...before, escalated: [...before.escalated], requests: [...before.requests], ...(before.active ? { active: cloneCase(before.active) } : {}) };
  const steps = new CaseSteps(state, { developerId, snapshot });
  const c = state.active;
  if (!c || c.id !== action.caseId) return { state: before, effects: [] };
  const { actor, at } = action;
  switch (action.action) {
    case 'claim': {
      if (c.owner === actor && c.status !== 'snoozed') return { state: before, effects: [] }; // a double click
      const previous = c.owner;
      c.owner = actor;
      c.claimedAt ??= at;
      c.status = 'claimed';
      c.snoozedUntil = undefined;
      c.beforeSnooze = undefined;
      c.claimDueAt = undefined;
      steps.step(c, 'claimed', actor, at, previous && previous !== actor ? { from: previous } : {});
      break;
    }
    case 'note':
      steps.step(c, 'note', actor, at, action.noteId ? { noteId: action.noteId } : { text: action.note!.trim().slice(0, 2000) });
      break;
    case 'snooze':
      if (c.status !== 'snoozed') c.beforeSnooze = c.status;
      c.status = 'snoozed';
      c.snoozedUntil = at + action.snoozeMs!;
      steps.step(c, 'snoozed', actor, at, { forMs: action.snoozeMs, until: new Date(c.snoozedUntil).toISOString() });
      break;
    case 'return':
      steps.close(c, { status: 'returned', outcome: null }, actor, at, closingNote(action));
      break;
    case 'resolve':
      steps.close(c, { status: 'resolved', outcome: action.outcome!, ...(action.friction ? { friction: action.friction } : {}) }, actor, at, {
        outcome: action.outcome,
        ...(action.friction ? { friction: action.friction } : {}),
        ...closingNote(action),
      });
      break;
  }
  return { state, effects: steps.effects };
}

/** The note a return or resolution carries: its id, or (older updates) its text. */
function closingNote(action: HandoffAction): Record<string, unknown> {
  if (action.noteId) return { noteId: action.noteId };
  return action.note ? { note: action.note.slice(0, 2000) } : {};
}

function cloneCase(c: ActiveCase): ActiveCase {
  return { ...c, breaches: [...c.breaches] };
}

/** Requests heard from events: support tickets and errors that go on after their nudge. */
export function noteTicket(state: HandoffState, eventId: string, occurredAt: string, properties: Record<string, unknown> | undefined, imported?: boolean): HandoffState {
  const subject = typeof properties?.subject === 'string' ? `: ${properties.subject.slice(0, 200)}` : '';
  return {
    ...state,
    requests: [
      ...state.requests,
      {
        key: `support_ticket:${eventId}`,
        criterion: 'support_ticket',
        reason: `support ticket${subject}`,
        detail: { eventId, occurredAt },
        ...(imported ? { backfill: true as const } : {}),
      },
    ],
  };
}

/**
 * The host gave up on a Slack notification (a day of failures): `step` is the step it was about
 * (the case as it stood then), `error` what Slack last answered, `at` the host's clock.
 */
export interface SlackFailedEvent {
  type: 'handoff.slack_failed';
  step: HandoffStepEffect;
  notify: NotifySlackEffect;
  error: string;
  at: number;
}

/** A Slack notification given up on, as a step of the case's log (the case itself unchanged). */
export function slackFailureStep({ step, notify, error, at }: SlackFailedEvent): HandoffStepEffect {
  return {
    ...step,
    stepKey: `${step.stepKey}/slack_failed`,
    step: 'slack_failed',
    actor: null,
    at: new Date(at).toISOString(),
    detail: { error: error.slice(0, 500), ...(notify.post ? { level: notify.post.level, channel: notify.post.channel } : {}) },
  };
}
