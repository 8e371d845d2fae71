import { defineSearchAttributeKey, type SearchAttributePair, type SearchAttributeUpdatePair, type TypedSearchAttributes } from '@temporalio/common';
import { currentStage } from '../src/journey/evidence.ts';
import { stagesOf, type JourneyContext } from '../src/journey/journey-machine.ts';

/**
 * What an operator filters journeys by in the Temporal UI (`OnrampStage = "first_api_call" AND
 * OnrampEscalated = true`), declared once for the workflow, its client and the servers that must
 * register them. Only ids, stages and categories: no contact data reaches a workflow history.
 */
export const journeySearchAttributeKeys = {
  /** The current funnel stage's id; absent until the first stage is reached. */
  stage: defineSearchAttributeKey('OnrampStage', 'KEYWORD'),
  /** Has ever been escalated to a person (a case opened, or an escalation marked from imported history). */
  escalated: defineSearchAttributeKey('OnrampEscalated', 'BOOL'),
  /** A case is open now (open, claimed or snoozed); the memo names it. */
  openCase: defineSearchAttributeKey('OnrampOpenCase', 'BOOL'),
  /** The signup's `acquisitionChannel`; absent until a signup says it. */
  channel: defineSearchAttributeKey('OnrampChannel', 'KEYWORD'),
  /** The signup's `accountType` (`individual`, `organization`); absent until a signup says it. */
  accountType: defineSearchAttributeKey('OnrampAccountType', 'KEYWORD'),
} as const;

export const JOURNEY_SEARCH_ATTRIBUTES = Object.values(journeySearchAttributeKeys);

type Keys = typeof journeySearchAttributeKeys;
type AttributeValues = { -readonly [K in keyof Keys]?: string | boolean };

/** The journey's search attributes now (absent: not known yet). */
export function journeySearchAttributeValues(context: JourneyContext): AttributeValues {
  const profile = context.nudging?.profile;
  const stage = currentStage(context.evidence, stagesOf(context));
  return {
    ...(stage !== null ? { stage } : {}),
    escalated: (context.handoff?.escalated.length ?? 0) > 0,
    openCase: context.handoff?.active !== undefined,
    ...(profile?.channel !== undefined ? { channel: profile.channel } : {}),
    ...(profile?.accountType !== undefined ? { accountType: profile.accountType } : {}),
  };
}

/** Set when a journey starts (client side), so that `OnrampEscalated = false` finds a journey before its first change. */
export const JOURNEY_START_SEARCH_ATTRIBUTES: SearchAttributePair[] = [
  { key: journeySearchAttributeKeys.escalated, value: false },
  { key: journeySearchAttributeKeys.openCase, value: false },
];

/** The values a run starts with (set at start or carried over continue-as-new). */
export function publishedSearchAttributes(attributes: TypedSearchAttributes): AttributeValues {
  const values: AttributeValues = {};
  for (const [name, key] of Object.entries(journeySearchAttributeKeys) as [keyof Keys, Keys[keyof Keys]][]) {
    const value = attributes.get(key);
    if (value !== undefined) values[name] = value;
  }
  return values;
}

/** The updates that turn `published` into `now` (none when nothing changed); a value gone is removed. */
export function searchAttributeUpdates(published: AttributeValues, now: AttributeValues): SearchAttributeUpdatePair[] {
  const updates: SearchAttributeUpdatePair[] = [];
  for (const [name, key] of Object.entries(journeySearchAttributeKeys) as [keyof Keys, Keys[keyof Keys]][]) {
    if (published[name] === now[name]) continue;
    updates.push({ key, value: now[name] ?? null } as SearchAttributeUpdatePair);
  }
  return updates;
}

/** What an operator reading one journey in the Temporal UI wants beside its attributes: versions and the open case's id. */
export interface JourneyMemo {
  developerId: string;
  /** The version the journey started with (docs/concepts/versioning.md). */
  machineVersion: number;
  /** The funnel version it follows (absent: the shipped stages, from before funnel versions; 0: none heard yet). */
  funnelVersion?: number;
  /** The open case (`GET /v1/handoffs/{id}`), if any. */
  openCaseId?: string;
  casesOpened: number;
}

export function journeyMemo(context: JourneyContext): JourneyMemo {
  return {
    developerId: context.developerId,
    machineVersion: context.machineVersion,
    ...(context.funnel ? { funnelVersion: context.funnel.version } : {}),
    ...(context.handoff?.active ? { openCaseId: context.handoff.active.id } : {}),
    casesOpened: context.handoff?.opened ?? 0,
  };
}

const MEMO_FIELDS = ['developerId', 'machineVersion', 'funnelVersion', 'openCaseId', 'casesOpened'] as const satisfies (keyof JourneyMemo)[];

/** The memo fields that changed, a field gone as null (clears it); empty: the memo stands. Others' fields are left alone. */
export function memoUpdate(published: Record<string, unknown>, now: JourneyMemo): Record<string, unknown> {
  return Object.fromEntries(MEMO_FIELDS.filter((field) => published[field] !== now[field]).map((field) => [field, now[field] ?? null]));
}
