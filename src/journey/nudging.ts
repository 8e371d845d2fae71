import ms from 'ms';
import type { ActiveRules, EngagementSegment, ErrorBurst, ExperimentVariant, NudgePolicy, NudgeRule, SegmentFilter } from '../rules/rules-schema.ts';
import { describeSuppression } from '../events/email-suppression.ts';
import { currentStage, type EvidenceByStage } from './evidence.ts';
import type { EscalationRequest } from './handoff.ts';
import { assignVariant, type ExperimentAllocations } from './experiment-assignment.ts';
import type { NudgeDecisionEffect, SendNudgeEffect } from './journey-effects.ts';
import { RISK_RECHECK_MS, riskCrossing, type RiskCrossings } from './risk-crossings.ts';
import type { Stage } from './stages.ts';

/**
 * Nudge decisions, as pure functions of the journey's state, the rules version in force and the
 * workflow's clock (`now`, passed in): which rule acts, and whether consent, holdout, email
 * engagement, the frequency cap or quiet hours block it. Every outcome is a decision effect; a
 * send is an effect too. Nothing here reads a clock or does I/O.
 */

export interface NudgeProfile {
  accountType?: string;
  channel?: string;
  timezone?: string;
  /** Event time of the signup the profile came from (the earliest wins). */
  signedUpAt?: string;
}

export interface SentNudge {
  nudgeKey: string;
  ruleId: string;
  at: number;
}

export interface DeferredNudge {
  nudgeKey: string;
  ruleId: string;
  /** The stage the rule was for; leaving it cancels the nudge. */
  stage: Stage | null;
  /** The event whose absence the rule waits for; its arrival cancels the nudge. */
  awaiting?: string;
  dueAt: number;
  burst?: BurstDetails;
  /** An experiment's nudge: when its wait started (the variant's delay counts from here)… */
  from?: number;
  /** …and the variant drawn (kept: a later rules version may weigh the variants otherwise). */
  variant?: string;
}

export interface BurstDetails {
  kind: ErrorBurst;
  endpoint?: string;
  status?: number;
  count?: number;
  /** The errors went on after the first burst (detected on the ingest side). */
  continued?: boolean;
  /** Detected in imported traffic (a backfill): recorded `skipped` (`backfill`), never nudged or escalated. */
  imported?: true;
}

export interface NudgeState {
  profile: NudgeProfile;
  consent: { email: 'granted' | 'revoked'; at?: string };
  opened: number;
  clicked: number;
  /** Nudges sent, ever (engagement counts them); `sent` keeps only the recent ones. */
  sends: number;
  /**
   * Email does not reach them: the earliest hard bounce or spam complaint heard (machine version 5
   * on). Their engagement is `none` from then on, so a due nudge is skipped and escalates.
   */
  undeliverable?: { reason: 'hard_bounce' | 'complaint'; at: string };
  sent: SentNudge[];
  /** How many times each rule has acted (sent or skipped) for this developer. */
  fired: Record<string, number>;
  /** Bursts heard and not yet decided on. */
  bursts: BurstDetails[];
  /** The earliest event time of each event type the developer has sent (`event.seen`; not api.request). */
  seen?: Record<string, string>;
  deferred?: DeferredNudge;
  /** Fixed at the first decision, from the developer id and the holdout share then in force. */
  holdout?: boolean;
  decisions: number;
  /** When the journey should next decide, from the last decision's rules (epoch ms). */
  wakeAt?: number;
  /**
   * Stall nudges held back while a person owns the case: recorded once, not used up; when the case
   * closes (a new `resumedAt`) the list starts afresh and they fall due again from then.
   */
  heldBack?: { resumedAt?: number; nudgeKeys: string[] };
  /**
   * The variant of each adaptive experiment the developer was drawn into: their later firings keep
   * it though the weights, and so a fresh draw, may have moved. Only adaptive experiments (none in
   * a history recorded before they existed), so every recorded firing draws as it did.
   */
  adaptiveArms?: Record<string, string>;
}

/** What the nudges need to know of the handoff (machine version 3 on). */
export interface NudgeHandoffView {
  /** A case is open: a person owns the developer, no automated nudge. */
  owned: boolean;
  /** When the last case closed: stall clocks restart here ("fresh deadlines"). */
  resumedAt?: number;
  /** A resolution outcome stopped automated nudges for good. */
  stopped: boolean;
}

export function initialNudgeState(): NudgeState {
  return { profile: {}, consent: { email: 'granted' }, opened: 0, clicked: 0, sends: 0, sent: [], fired: {}, bursts: [], decisions: 0 };
}

export interface DecideInput {
  developerId: string;
  evidence: EvidenceByStage;
  /** The stages of the funnel the journey follows, in order. */
  stages: readonly Stage[];
  state: NudgeState;
  rules: ActiveRules;
  now: number;
  /** Absent before machine version 3: escalate actions are skipped, nothing is owned. */
  handoff?: NudgeHandoffView;
  /** When the risk of each risk criterion crosses (read with the rules); absent: risk rules do not act. */
  risk?: RiskCrossings;
  /** Adaptive experiments' weights (read with the rules); absent: every experiment draws with its document's weights. */
  allocations?: ExperimentAllocations;
  /**
   * Imported (backfilled) events arrived since the last decision: stall nudges already due at
   * `now` belong to the past and are recorded `skipped` (`backfill`), used up, never sent.
   */
  backfill?: boolean;
}

export interface DecideOutput {
  state: NudgeState;
  effects: (NudgeDecisionEffect | SendNudgeEffect)[];
  /** Handoffs asked for: a rule's escalate action, or email that is not reaching the developer. */
  escalations: EscalationRequest[];
}

/** Sent nudges older than this stop mattering to the frequency cap: the state stays small. */
const KEEP_SENT = 90 * 86_400_000;

export function engagementOf(state: NudgeState, policy: NudgePolicy): EngagementSegment {
  if (state.undeliverable) return 'none';
  if (state.opened >= 3 && state.clicked >= 1) return 'high';
  if (state.opened >= 1) return 'medium';
  return state.sends >= policy.noEngagementAfterSends ? 'none' : 'new';
}

export function segmentOf(state: NudgeState, policy: NudgePolicy) {
  return { engagement: engagementOf(state, policy), channel: state.profile.channel ?? null, accountType: state.profile.accountType ?? null };
}

type Segment = ReturnType<typeof segmentOf>;

function matches(filter: SegmentFilter | undefined, segment: Segment): boolean {
  if (!filter) return true;
  if (filter.engagement && !filter.engagement.includes(segment.engagement)) return false;
  if (filter.channel && !(filter.channel as string[]).includes(segment.channel ?? '')) return false;
  if (filter.accountType && !(filter.accountType as string[]).includes(segment.accountType ?? '')) return false;
  return true;
}

function templateFor(rule: NudgeRule, segment: Segment): string | undefined {
  if (!('send' in rule.action)) return undefined;
  return rule.action.variants?.find((v) => matches(v.when, segment))?.send ?? rule.action.send;
}

/** Deterministic share of 10,000 from the developer id (FNV-1a), so holdout needs no stored draw. */
export function holdoutBucket(developerId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < developerId.length; i++) {
    hash ^= developerId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % 10_000;
}

/** Minutes past midnight in the time zone (UTC when unknown or invalid). */
function localMinutes(now: number, timezone: string | undefined): number {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-GB', { timeZone: timezone ?? 'UTC', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  } catch {
    parts = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  }
  const value = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return value('hour') * 60 + value('minute');
}

const clock = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** The end of the quiet hours `now` falls in, or undefined when sending is allowed now. */
export function quietUntil(now: number, timezone: string | undefined, quiet: NudgePolicy['quietHours']): number | undefined {
  const start = clock(quiet.start);
  const end = clock(quiet.end);
  if (start === end) return undefined;
  const local = localMinutes(now, timezone);
  const inQuiet = start < end ? local >= start && local < end : local >= start || local < end;
  if (!inQuiet) return undefined;
  const minutesLeft = (end - local + 1440) % 1440;
  // To the start of the minute the quiet hours end (a DST shift is caught by re-checking then).
  return now - (now % 60_000) + minutesLeft * 60_000;
}

interface Firing {
  rule: NudgeRule;
  nudgeKey: string;
  stage: Stage | null;
  awaiting?: string;
  dueAt: number;
  burst?: BurstDetails;
  /** When the rule's wait started: the stage reached, the absence's start, the burst. */
  from?: number;
  /** The variant drawn when a deferred experiment nudge was first decided. */
  variant?: string;
  /** A risk rule's threshold, recorded in its decisions. */
  riskAbove?: number;
  /** A risk rule whose crossing the curves cannot tell yet: look again later (no firing). */
  recheckAt?: number;
}

/** The rule's own wait: `when.after` (a risk rule: none by default), `when.absentAfter`, none for a signal. */
function ruleWait(rule: NudgeRule): number {
  if ('stage' in rule.when) return rule.when.after === undefined ? 0 : ms(rule.when.after as ms.StringValue);
  if ('event' in rule.when) return ms(rule.when.absentAfter as ms.StringValue);
  return 0;
}

/** A variant's wait: its `after`, else the rule's. */
const variantWait = (rule: NudgeRule, variant: ExperimentVariant) => (variant.after === undefined ? ruleWait(rule) : ms(variant.after as ms.StringValue));

/*
 * Experiments came without a journey version (no `patched()`): a rule without `experiment` fires
 * at `ruleWait` as before, keeps no `from` in its deferral and records no `experiment` on its
 * decisions, so every recorded history (none holds an experiment) issues the same commands with
 * the same arguments. A running journey meets an experiment only through a rules version fetched
 * after the change: new input, decided by the new code, recorded in its history from then on.
 */

/**
 * When the rule fires: an experiment fires at its shortest variant's wait, so every developer is
 * assigned (and recorded) at the same point whatever their variant; a longer variant then waits
 * on. Assigning at each variant's own wait would leave out of the longer arms everyone who
 * converted before it, and flatter the shorter ones.
 */
function firstWait(rule: NudgeRule): number {
  if (!('experiment' in rule.action)) return ruleWait(rule);
  return Math.min(...rule.action.experiment.variants.map((v) => variantWait(rule, v)));
}

/** A rule's next firing: its key counts the times it acted. */
const nextKey = (state: NudgeState, rule: NudgeRule) => `${rule.id}#${(state.fired[rule.id] ?? 0) + 1}`;

/** Whether a rule may still act: enabled, allowance left, not already waiting (deferred) or held back. */
function mayAct(state: NudgeState, rule: NudgeRule): boolean {
  if (!rule.enabled || (state.fired[rule.id] ?? 0) >= rule.maxPerDeveloper) return false;
  const key = nextKey(state, rule);
  return key !== state.deferred?.nudgeKey && !(state.heldBack?.nudgeKeys ?? []).includes(key);
}

/** Where the developer stands in their current stage, for its rules. */
interface StagePosition {
  stage: Stage;
  /** When they reached it. */
  reachedAt: number;
  /** When its clocks started: reachedAt, or the close of a case since. */
  stageAt: number;
  now: number;
  risk?: RiskCrossings;
}

/**
 * Stage rules of the current stage, due or not, that may still act. A risk rule falls due when
 * the risk crosses its threshold for the developer's segment (from reaching the stage), not
 * before its `after` (from `stageAt`); while the curves cannot tell, it asks to be looked at again.
 */
function stageFirings(state: NudgeState, rules: NudgeRule[], { stage, reachedAt, stageAt, now, risk }: StagePosition): Firing[] {
  return rules.flatMap((rule): Firing[] => {
    if (!('stage' in rule.when) || rule.when.stage !== stage || !mayAct(state, rule)) return [];
    const nudgeKey = nextKey(state, rule);
    if (rule.when.risk === undefined) return [{ rule, nudgeKey, stage, dueAt: stageAt + firstWait(rule), from: stageAt }];
    const crossing = riskCrossing(risk, `rule:${rule.id}`, state.profile.channel, state.profile.accountType);
    if (crossing === null) return [{ rule, nudgeKey, stage, dueAt: Infinity, recheckAt: now + RISK_RECHECK_MS }];
    const dueAt = Math.max(reachedAt + crossing, stageAt + ruleWait(rule));
    // Experiment variants of a risk rule have no delay of their own (the schema refuses one): they act at dueAt.
    return [{ rule, nudgeKey, stage, dueAt, from: dueAt - ruleWait(rule), riskAbove: rule.when.risk.above }];
  });
}

/**
 * Rules waiting for an event's absence, due or not, that may still act: the event not sent yet,
 * and `since` (or a first stage) reached. Not tied to the current stage: moving on does not cancel
 * them, the event does. After a handoff closes they count from then, as stalls do.
 */
function absenceFirings(state: NudgeState, rules: NudgeRule[], evidence: EvidenceByStage, stages: readonly Stage[], resumedAt: number | undefined): Firing[] {
  return rules.flatMap((rule) => {
    if (!('event' in rule.when) || state.seen?.[rule.when.event] !== undefined || !mayAct(state, rule)) return [];
    const since = rule.when.since === undefined ? firstReached(evidence, stages) : evidence[rule.when.since]?.occurredAt;
    if (since === undefined) return [];
    const from = Math.max(Date.parse(since), resumedAt ?? -Infinity);
    return [{ rule, nudgeKey: nextKey(state, rule), stage: null, awaiting: rule.when.event, dueAt: from + firstWait(rule), from }];
  });
}

/** The event time of the first stage the developer reached (by event time), if any. */
function firstReached(evidence: EvidenceByStage, stages: readonly Stage[]): string | undefined {
  const times = stages.flatMap((stage) => (evidence[stage] ? [Date.parse(evidence[stage].occurredAt)] : []));
  return times.length > 0 ? new Date(Math.min(...times)).toISOString() : undefined;
}

/** Decides what is due at `now`; returns the new state and the effects (decision rows, sends). */
export function decideNudges({ developerId, evidence, stages, state: before, rules, now, handoff, risk, allocations, backfill }: DecideInput): DecideOutput {
  const { policy } = rules.document;
  const state: NudgeState = { ...before, sent: before.sent.filter((s) => s.at > now - KEEP_SENT), fired: { ...before.fired }, bursts: [] };
  const held = before.heldBack;
  if (handoff && (held || handoff.owned)) {
    state.heldBack = held && held.resumedAt === handoff.resumedAt ? { ...held, nudgeKeys: [...held.nudgeKeys] } : { resumedAt: handoff.resumedAt, nudgeKeys: [] };
  }
  const effects: DecideOutput['effects'] = [];
  const escalations: EscalationRequest[] = [];
  const stage = currentStage(evidence, stages);
  const reachedAt = stage ? Date.parse(evidence[stage]!.occurredAt) : undefined;
  // After a handoff closes, stall rules count from then, not from the stage.
  const stageAt = reachedAt === undefined || handoff?.resumedAt === undefined ? reachedAt : Math.max(reachedAt, handoff.resumedAt);
  state.holdout ??= holdoutBucket(developerId) < policy.holdoutPercent * 100;

  const decide = (firing: Firing, outcome: NudgeDecisionEffect['outcome'], extra: Partial<NudgeDecisionEffect> = {}) => {
    state.decisions++;
    const segment = segmentOf(state, policy);
    const decision: NudgeDecisionEffect = {
      type: 'recordNudgeDecision',
      developerId,
      decisionKey: `${developerId}/${state.decisions}`,
      nudgeKey: firing.nudgeKey,
      ruleId: firing.rule.id,
      ruleVersion: rules.version,
      outcome,
      segment,
      inputs: {
        stage,
        stageReachedAt: reachedAt === undefined ? null : new Date(reachedAt).toISOString(),
        dueAt: new Date(firing.dueAt).toISOString(),
        sentInWindow: state.sent.filter((s) => s.at > now - ms(policy.frequencyCap.per as ms.StringValue)).length,
        consent: state.consent.email,
        holdout: state.holdout!,
        opened: state.opened,
        clicked: state.clicked,
        timezone: state.profile.timezone ?? null,
        ...(firing.burst ? { burst: { ...firing.burst } } : {}),
        ...(firing.awaiting ? { absentEvent: firing.awaiting } : {}),
        ...(firing.riskAbove !== undefined && risk ? { risk: { above: firing.riskAbove, curvesAsOf: risk.asOf } } : {}),
      },
      decidedAt: new Date(now).toISOString(),
      ...extra,
    };
    effects.push(decision);
    return decision;
  };

  const act = (firing: Firing) => {
    const { rule } = firing;
    const segment = segmentOf(state, policy);
    const consume = () => (state.fired[rule.id] = (state.fired[rule.id] ?? 0) + 1);
    // An experiment's arm, once the developer is in it (past the segment filter): on every decision.
    let arm: Pick<NudgeDecisionEffect, 'experiment'> = {};
    const skip = (reason: string, template?: string) => {
      consume();
      decide(firing, 'skipped', { reason, ...(template ? { template } : {}), ...arm });
    };
    // A nudge is due and email is not reaching them: flag them for another channel (a person).
    if (handoff && segment.engagement === 'none') {
      const reason = state.undeliverable ? describeSuppression(state.undeliverable) : `email is not reaching them: ${state.sends} nudges sent, none opened`;
      escalations.push({ key: 'no_email_engagement', criterion: 'no_email_engagement', reason });
    }
    if (!matches(rule.segments, segment)) return skip('segment');
    if ('escalate' in rule.action) {
      if (!handoff) return skip('escalation_not_available');
      if (handoff.owned) return skip('human_owned');
      consume();
      escalations.push({ key: `rule:${firing.nudgeKey}`, criterion: `rule:${rule.id}`, reason: rule.action.escalate.reason, rule: { id: rule.id, version: rules.version } });
      return decide(firing, 'escalated', { reason: rule.action.escalate.reason });
    }
    const experiment = 'experiment' in rule.action ? rule.action.experiment : undefined;
    // The holdout is the experiment's control: in no variant, sent nothing.
    const kept = firing.variant ?? (experiment && state.adaptiveArms?.[experiment.id]);
    const variant =
      experiment && !state.holdout ? (experiment.variants.find((v) => v.id === kept) ?? assignVariant(developerId, experiment, allocations?.[experiment.id])) : undefined;
    if (experiment?.adaptive && variant) state.adaptiveArms = { ...state.adaptiveArms, [experiment.id]: variant.id };
    if (experiment) arm = { experiment: { id: experiment.id, variant: variant?.id ?? null } };
    // Undefined only for the holdout of an experiment, which stops at the holdout check below.
    const template = experiment ? variant && (variant.send ?? experiment.send)! : templateFor(rule, segment)!;
    // Only an experiment's firings keep their start in a deferral: other rules' state stays as it was.
    const from = experiment && firing.from !== undefined ? { from: firing.from, ...(variant ? { variant: variant.id } : {}) } : {};
    if (state.consent.email === 'revoked') return skip('consent', template);
    if (state.holdout || template === undefined) return skip('holdout', template);
    if (handoff?.stopped) return skip('stopped_by_handoff', template);
    if (handoff?.owned) {
      if (firing.stage === null && firing.awaiting === undefined) return skip('human_owned', template);
      // A stall (or absence) nudge waits for the case to close, then falls due afresh: recorded, not used up.
      (state.heldBack ??= { resumedAt: handoff.resumedAt, nudgeKeys: [] }).nudgeKeys.push(firing.nudgeKey);
      return decide(firing, 'skipped', { reason: 'human_owned', template, ...arm });
    }
    const variantDue = variant && firing.from !== undefined ? firing.from + variantWait(rule, variant) : undefined;
    if (variantDue !== undefined && variantDue > now) {
      state.deferred = {
        nudgeKey: firing.nudgeKey,
        ruleId: rule.id,
        stage: firing.stage,
        dueAt: variantDue,
        ...from,
        ...(firing.awaiting ? { awaiting: firing.awaiting } : {}),
        ...(firing.burst ? { burst: firing.burst } : {}),
      };
      return decide(firing, 'scheduled', { reason: 'experiment_delay', template, scheduledFor: new Date(variantDue).toISOString(), ...arm });
    }
    if (segment.engagement === 'none') return skip('no_email_engagement', template);
    const window = ms(policy.frequencyCap.per as ms.StringValue);
    if (state.sent.filter((s) => s.at > now - window).length >= policy.frequencyCap.max) return skip('frequency_cap', template);
    const quietEnd = quietUntil(now, state.profile.timezone, policy.quietHours);
    if (quietEnd !== undefined) {
      state.deferred = {
        nudgeKey: firing.nudgeKey,
        ruleId: rule.id,
        stage: firing.stage,
        dueAt: quietEnd,
        ...from,
        ...(firing.awaiting ? { awaiting: firing.awaiting } : {}),
        ...(firing.burst ? { burst: firing.burst } : {}),
      };
      return decide(firing, 'scheduled', { reason: 'quiet_hours', template, scheduledFor: new Date(quietEnd).toISOString(), ...arm });
    }
    consume();
    state.sends++;
    state.sent.push({ nudgeKey: firing.nudgeKey, ruleId: rule.id, at: now });
    const decision = decide(firing, 'sent', { template, ...arm });
    effects.pop(); // the send activity records the 'sent' row once the message is out
    effects.push({
      type: 'sendNudge',
      developerId,
      decision,
      template,
      stage,
      ...(firing.burst ? { burst: { ...firing.burst } } : {}),
    });
  };

  // 1. A nudge held back by quiet hours: cancelled if the developer moved on (or sent the event
  // it waited for) or the rule went away.
  if (before.deferred) {
    const deferred = before.deferred;
    const rule = rules.document.rules.find((r) => r.id === deferred.ruleId && r.enabled);
    const firing: Firing = {
      rule: rule ?? ({ id: deferred.ruleId } as NudgeRule),
      nudgeKey: deferred.nudgeKey,
      stage: deferred.stage,
      ...(deferred.awaiting ? { awaiting: deferred.awaiting } : {}),
      dueAt: deferred.dueAt,
      burst: deferred.burst,
      ...(deferred.from !== undefined ? { from: deferred.from } : {}),
      ...(deferred.variant !== undefined ? { variant: deferred.variant } : {}),
    };
    if (deferred.awaiting !== undefined && state.seen?.[deferred.awaiting] !== undefined) {
      state.deferred = undefined;
      state.fired[deferred.ruleId] = (state.fired[deferred.ruleId] ?? 0) + 1;
      decide(firing, 'cancelled', { reason: 'event_seen' });
    } else if (deferred.stage !== null && deferred.stage !== stage) {
      state.deferred = undefined;
      state.fired[deferred.ruleId] = (state.fired[deferred.ruleId] ?? 0) + 1;
      decide(firing, 'cancelled', { reason: 'stage_left' });
    } else if (!rule) {
      state.deferred = undefined;
      decide(firing, 'cancelled', { reason: 'rule_removed' });
    } else if (deferred.dueAt <= now) {
      state.deferred = undefined;
      act(firing);
    }
  }

  // 2. Error bursts heard since the last decision: their rules act at once. Errors that go on
  // after a burst was nudged are for a person instead.
  for (const burst of before.bursts) {
    if (burst.imported) {
      // The past: a continued burst is marked escalated (no case), a first one's rules are used up.
      if (burst.continued) {
        if (handoff) escalations.push({ key: `error_burst_continued:${burst.kind}`, criterion: 'error_burst_continued', reason: 'imported history', backfill: true });
        continue;
      }
      for (const rule of rules.document.rules) {
        if (!rule.enabled || !('signal' in rule.when) || rule.when.signal !== burst.kind) continue;
        if ((state.fired[rule.id] ?? 0) >= rule.maxPerDeveloper || state.deferred?.ruleId === rule.id) continue;
        const firing: Firing = { rule, nudgeKey: `${rule.id}#${(state.fired[rule.id] ?? 0) + 1}`, stage: null, dueAt: now, burst };
        state.fired[rule.id] = (state.fired[rule.id] ?? 0) + 1;
        decide(firing, 'skipped', { reason: 'backfill' });
      }
      continue;
    }
    if (burst.continued) {
      const nudged = state.sent.find((s) => rules.document.rules.some((r) => r.id === s.ruleId && 'signal' in r.when && r.when.signal === burst.kind));
      if (handoff && nudged) {
        const where = burst.endpoint ? ` on ${burst.endpoint}` : '';
        escalations.push({
          key: `error_burst_continued:${burst.kind}`,
          criterion: 'error_burst_continued',
          reason: `${burst.count ?? 'more'} × ${burst.status ?? 'errors'}${where} after the ${nudged.ruleId} nudge`,
          detail: { burst: { ...burst }, nudge: nudged.nudgeKey },
        });
      }
      continue;
    }
    for (const rule of rules.document.rules) {
      if (!rule.enabled || !('signal' in rule.when) || rule.when.signal !== burst.kind) continue;
      if ((state.fired[rule.id] ?? 0) >= rule.maxPerDeveloper || state.deferred?.ruleId === rule.id) continue;
      act({ rule, nudgeKey: `${rule.id}#${(state.fired[rule.id] ?? 0) + 1}`, stage: null, dueAt: now, burst, from: now });
    }
  }

  // 3. Stalls: of the current stage's rules now due, the latest-due acts; earlier ones it supersedes.
  const position: StagePosition | undefined = stage !== null && stageAt !== undefined ? { stage, reachedAt: reachedAt!, stageAt, now, ...(risk ? { risk } : {}) } : undefined;
  if (position && !state.deferred) {
    const due = stageFirings(state, rules.document.rules, position)
      .filter((f) => f.dueAt <= now)
      .sort((a, b) => a.dueAt - b.dueAt);
    // A backfill: every nudge already due fell in the imported past; none acts, later ones will.
    const acting = backfill ? undefined : due.pop();
    const passedOver = backfill ? 'backfill' : 'superseded';
    for (const superseded of due) {
      state.fired[superseded.rule.id] = (state.fired[superseded.rule.id] ?? 0) + 1;
      decide(superseded, 'skipped', { reason: passedOver });
    }
    if (acting) act(acting);
  }

  // 4. Events still absent: each rule now due acts (in due order), until one waits for quiet hours.
  const absences = () => absenceFirings(state, rules.document.rules, evidence, stages, handoff?.resumedAt);
  for (const firing of absences()
    .filter((f) => f.dueAt <= now)
    .sort((a, b) => a.dueAt - b.dueAt)) {
    if (state.deferred) break;
    if (backfill) {
      state.fired[firing.rule.id] = (state.fired[firing.rule.id] ?? 0) + 1;
      decide(firing, 'skipped', { reason: 'backfill' });
    } else act(firing);
  }

  state.wakeAt = nextWake(state, [...(position ? stageFirings(state, rules.document.rules, position) : []), ...absences()], now);
  return { state, effects, escalations };
}

/** When the next decision is due: a deferred nudge, or the next of the rules still to fall due. */
function nextWake(state: NudgeState, pending: Firing[], now: number): number | undefined {
  if (state.deferred) return state.deferred.dueAt;
  const next = pending.map((f) => f.recheckAt ?? f.dueAt).filter((t) => t > now);
  return next.length > 0 ? Math.min(...next) : undefined;
}

/** The host gave up on a send (not sendable, or a day of failures); `error` says why. */
export interface SendFailedEvent {
  type: 'nudge.send_failed';
  send: SendNudgeEffect;
  error: string;
}

/** A send given up on, as its own decision (`<decisionKey>/failed`, skipped): the journey goes on. */
export function sendFailedDecision({ send, error }: SendFailedEvent): NudgeDecisionEffect {
  return { ...send.decision, decisionKey: `${send.decision.decisionKey}/failed`, outcome: 'skipped', reason: `send_failed: ${error}`.slice(0, 500) };
}
