import type { z } from 'zod';
import type { FieldError } from '../../api/error-handler.ts';
import { ingestEvent, type IngestEvent } from '../../events/event-schemas.ts';
import { EVENT_TYPE_PATTERN, MAX_EVENT_TYPE_LENGTH } from '../../events/event-type.ts';
import { profileLocale, profileName } from '../../events/profile-fields.ts';
import { formatPath } from '../../rules/config-file.ts';
import type { SegmentMapping } from './segment-mapping.ts';
import type { SegmentMessage } from './segment-messages.ts';

type Path = (string | number)[];

/** Onramp's id for a Segment message: namespaced, so no other source's ids can collide with it. */
export const eventIdOf = (messageId: string) => `segment:${messageId}`;

/**
 * A track event's default type, from Segment's "Object Action" naming: the first word the noun,
 * the rest the past verb ("Order Completed" → order.completed, "Team Member Invited" →
 * team.member_invited); undefined for a name that makes no event type ("Signup").
 */
export function typeFromEventName(name: string): string | undefined {
  const words = name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  if (words.length < 2) return undefined;
  const type = `${words[0]}.${words.slice(1).join('_')}`;
  return EVENT_TYPE_PATTERN.test(type) && type.length <= MAX_EVENT_TYPE_LENGTH ? type : undefined;
}

/** A message as an Onramp event, and where each Onramp field came from in the message (for errors). */
interface Draft {
  event: Record<string, unknown>;
  sourceOf: (path: readonly PropertyKey[]) => Path;
}

export interface Translation {
  events: IngestEvent[];
  errors: FieldError[];
}

/**
 * Segment messages → Onramp events, each validated by the ingest contract; an error names the
 * message's own field (`batch[3].properties.api_key`). `signedUp` holds the developers whose signup
 * is stored already: their identifies (and any after the first complete one here) are not signups.
 */
export function toOnrampEvents(
  messages: readonly SegmentMessage[],
  { mapping, signedUp, receivedAt, prefix }: { mapping: SegmentMapping; signedUp: ReadonlySet<string>; receivedAt: string; prefix: (index: number) => Path },
): Translation {
  const events: IngestEvent[] = [];
  const errors: FieldError[] = [];
  const signups = new Set(signedUp);
  messages.forEach((message, index) => {
    const at = (path: Path, text: string) => errors.push({ path: formatPath([...prefix(index), ...path]), message: text });
    const draft = draftOf(message, mapping, signups, receivedAt);
    if ('error' in draft) return at(draft.error.path, draft.error.message);
    const parsed = ingestEvent.safeParse(draft.event);
    if (parsed.success) return events.push(parsed.data);
    for (const issue of parsed.error.issues) at(draft.sourceOf(issue.path), messageOf(issue));
  });
  return { events, errors };
}

function messageOf(issue: z.core.$ZodIssue): string {
  return issue.path[0] === 'developerId' && issue.path.length === 1
    ? 'needs userId (the developerId), or properties.apiKey to attribute it through the key; an anonymousId alone is not attributed'
    : issue.message;
}

const common = (m: SegmentMessage, receivedAt: string) => ({ id: eventIdOf(m.messageId), developerId: m.userId, occurredAt: m.timestamp ?? receivedAt });

/** Onramp's top-level fields → the message's. */
const COMMON_SOURCES: Record<string, string> = { id: 'messageId', developerId: 'userId', occurredAt: 'timestamp', type: 'type' };

function draftOf(m: SegmentMessage, mapping: SegmentMapping, signups: Set<string>, receivedAt: string): Draft | { error: { path: Path; message: string } } {
  if (m.type === 'track') return trackDraft(m, mapping, receivedAt);
  if (m.type === 'page') {
    const page = m.context?.page as { path?: unknown } | undefined;
    const properties: Record<string, unknown> = { ...m.properties, ...(m.properties.path === undefined && page?.path !== undefined ? { path: page.path } : {}) };
    if (m.name !== undefined) properties.name ??= m.name;
    if (m.category !== undefined) properties.category ??= m.category;
    return { event: { ...common(m, receivedAt), type: mapping.page, properties }, sourceOf: sourceOf({}) };
  }
  const traitOf = mapping.identify.traits;
  const profile = {
    email: valueAt(m.traits, traitOf.email),
    accountType: valueAt(m.traits, traitOf.accountType),
    orgId: valueAt(m.traits, traitOf.orgId),
    acquisitionChannel: valueAt(m.traits, traitOf.acquisitionChannel),
    timezone: valueAt(m.traits, traitOf.timezone) ?? m.context?.timezone,
  };
  // Segment's spec traits: `name`, else `firstName` and `lastName`; the locale from the traits, else the library's context.
  const name = profileName(valueAt(m.traits, traitOf.name)) ?? profileName(m.traits.firstName, m.traits.lastName);
  const locale = profileLocale(valueAt(m.traits, traitOf.locale) ?? m.context?.locale);
  const complete = profile.email !== undefined && profile.accountType !== undefined && profile.acquisitionChannel !== undefined;
  const signup = complete && m.userId !== undefined && !signups.has(m.userId);
  if (signup) signups.add(m.userId!);
  const defined = Object.fromEntries(Object.entries(profile).filter(([, v]) => v !== undefined));
  return {
    event: {
      ...common(m, receivedAt),
      type: signup ? 'developer.signed_up' : mapping.identify.otherwise,
      // A name or locale the signup cannot take as it is (too long, no language tag) is fitted or left out, never the reason to refuse it.
      properties: signup ? { ...withoutKeys(m.traits, [traitOf.name, traitOf.locale]), ...defined, ...(name ? { name } : {}), ...(locale ? { locale } : {}) } : m.traits,
    },
    sourceOf: (path) =>
      path[0] === 'properties' && typeof path[1] === 'string'
        ? ['traits', ...(traitOf[path[1] as keyof typeof traitOf] ?? path[1]).split('.'), ...(path.slice(2) as Path)]
        : sourceOf({})(path),
  };
}

function trackDraft(m: Extract<SegmentMessage, { type: 'track' }>, mapping: SegmentMapping, receivedAt: string): Draft | { error: { path: Path; message: string } } {
  const rule = Object.hasOwn(mapping.track, m.event) ? mapping.track[m.event] : undefined;
  const type = rule?.type ?? (mapping.unmapped === 'custom' ? typeFromEventName(m.event) : undefined);
  if (type === undefined) {
    const why = mapping.unmapped === 'custom' ? 'makes no event type ("Object Action", e.g. "Team Invited" → team.invited)' : 'is not in the mapping';
    return { error: { path: ['event'], message: `"${m.event}" maps to no Onramp event: it ${why}; name it under track in the Segment mapping` } };
  }
  const renames = rule?.properties ?? {};
  const properties: Record<string, unknown> = { ...m.properties };
  for (const [onramp, segment] of Object.entries(renames)) {
    const value = valueAt(m.properties, segment);
    if (segment !== onramp) delete properties[segment];
    if (value !== undefined) properties[onramp] = value;
  }
  return { event: { ...common(m, receivedAt), type, properties }, sourceOf: sourceOf(renames, 'event') };
}

/** Where an Onramp field's value came from: a renamed property's Segment name, the common fields' Segment names. */
function sourceOf(renames: Record<string, string>, typeField = 'type') {
  return (path: readonly PropertyKey[]): Path => {
    const [head, name, ...rest] = path.map((p) => (typeof p === 'number' ? p : String(p)));
    if (head === 'properties' && typeof name === 'string') return ['properties', ...(renames[name] ?? name).split('.'), ...rest];
    if (head === 'type') return [typeField];
    return [COMMON_SOURCES[String(head)] ?? String(head ?? ''), ...(name === undefined ? [] : [name]), ...rest].filter((p) => p !== '');
  };
}

/** A value at a dotted path (`company.id`). */
/** The object without its top-level keys named by these trait paths (a dotted path's value is nested: it cannot collide). */
function withoutKeys(object: Record<string, unknown>, paths: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !paths.includes(key)));
}

function valueAt(object: Record<string, unknown>, path: string): unknown {
  let value: unknown = object;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
