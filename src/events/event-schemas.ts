import { z } from 'zod';
import { EVENT_TYPE_MESSAGE, EVENT_TYPE_PATTERN, MAX_EVENT_TYPE_LENGTH } from './event-type.ts';
import { isoInstant } from './instant.ts';
import { EMAIL_CATEGORY_ID, localeTag } from './profile-fields.ts';

/**
 * The ingest contract: the built-in event types (`noun.past_verb`) and their properties, and custom
 * events of any other well-formed type. Extra properties are kept (losing nothing), the listed ones
 * are validated. Instants are normalised to UTC ISO-8601.
 */

const instant = isoInstant.transform((value) => new Date(value).toISOString());

const id = (what: string) => z.string().trim().min(1, `${what} must not be empty`).max(256);
const mode = z.enum(['test', 'live']);

const ianaTimeZone = z.string().refine(isIanaTimeZone, { message: 'must be an IANA time zone, e.g. Europe/Berlin' });

function isIanaTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

const base = {
  id: id('id'),
  developerId: id('developerId'),
  occurredAt: instant,
};

function event<T extends string, P extends z.ZodRawShape>(type: T, properties: P, optionalProperties = false) {
  const props = z.looseObject(properties);
  return z.object({
    ...base,
    type: z.literal(type),
    properties: optionalProperties ? props.default({} as never) : props,
  });
}

export const docsViewed = event('docs.viewed', { path: z.string().max(2048).optional() }, true);

export const developerSignedUp = event('developer.signed_up', {
  email: z.email().max(320),
  accountType: z.enum(['individual', 'organization']),
  orgId: id('orgId').optional(),
  acquisitionChannel: z.enum(['organic_search', 'listing_site', 'paid', 'referral', 'direct', 'other']),
  timezone: ianaTimeZone.optional(),
  /** How emails greet them (`developer.name`, `developer.firstName` in templates). */
  name: z.string().trim().min(1).max(200).optional(),
  /** Which translation of a template they get (BCP 47: `fr`, `pt-BR`); canonicalised. */
  locale: localeTag.optional(),
});

export const developerEmailVerified = event('developer.email_verified', {}, true);

export const apiKeyCreated = event('api_key.created', { apiKey: id('apiKey'), mode });

/** A gateway log line. Attributed by developerId, or by apiKey through the api_keys mapping. */
export const apiRequest = z
  .object({
    ...base,
    developerId: base.developerId.optional(),
    type: z.literal('api.request'),
    properties: z.looseObject({
      apiKey: id('apiKey').optional(),
      endpoint: z.string().trim().min(1).max(512),
      method: z
        .string()
        .trim()
        .min(1)
        .max(16)
        .transform((m) => m.toUpperCase()),
      status: z.int().min(100).max(599),
      userAgent: z.string().max(1024).optional(),
      mode,
      latencyMs: z.number().nonnegative().optional(),
    }),
  })
  .refine((e) => e.developerId !== undefined || e.properties.apiKey !== undefined, {
    message: 'an api.request needs developerId or properties.apiKey',
    path: ['developerId'],
  });

export const quickstartCompleted = event('quickstart.completed', {}, true);
export const webhookRegistered = event('webhook.registered', { url: z.url().max(2048), mode });
/** `machine: true`: a privacy proxy's prefetch or a link scanner (src/mail/tracking/machine-engagement.ts), stored but no engagement. */
const emailEngagement = { messageId: id('messageId').optional(), machine: z.boolean().optional() };
export const emailOpened = event('email.opened', emailEngagement, true);
export const emailClicked = event('email.clicked', { ...emailEngagement, link: z.int().min(0).optional() }, true);
/** The reader's answer to the footer's "Was this email helpful?" (src/api/routes/feedback-route.ts). */
export const emailFeedback = event('email.feedback', { messageId: id('messageId').optional(), helpful: z.boolean() });
/**
 * What the email provider reported of an email Onramp sent (src/sources/email-events): a hard
 * bounce (`bounceType: hard`, the address does not exist) or a complaint (the recipient marked it
 * as spam) stops email to the developer; a soft bounce is recorded only.
 */
const emailDelivery = { messageId: id('messageId').optional(), provider: z.enum(['ses', 'sendgrid']).optional() };
export const emailBounced = event('email.bounced', { ...emailDelivery, bounceType: z.enum(['hard', 'soft']), reason: z.string().max(1000).optional() });
export const emailComplained = event('email.complained', { ...emailDelivery, feedbackType: z.string().max(100).optional() }, true);
export const supportTicketCreated = event('support.ticket_created', { subject: z.string().max(1000).optional() }, true);
/**
 * Email consent: `email` for all onboarding email (the journey stops nudging when revoked), and
 * optionally `categories`, a choice per category of templates/email.yaml (the preference centre),
 * merged into the developer's earlier choices.
 */
export const consentUpdated = event('consent.updated', {
  email: z.enum(['granted', 'revoked']),
  categories: z
    .record(z.string().regex(EMAIL_CATEGORY_ID, 'category ids are lower_snake_case'), z.enum(['granted', 'revoked']))
    .refine((c) => Object.keys(c).length <= 50, 'at most 50 categories')
    .optional(),
});

const builtInEvent = z.discriminatedUnion('type', [
  docsViewed,
  developerSignedUp,
  developerEmailVerified,
  apiKeyCreated,
  apiRequest,
  quickstartCompleted,
  webhookRegistered,
  emailOpened,
  emailClicked,
  emailFeedback,
  emailBounced,
  emailComplained,
  supportTicketCreated,
  consentUpdated,
]);

export type BuiltInEvent = z.infer<typeof builtInEvent>;
export type BuiltInEventType = BuiltInEvent['type'];
export const BUILT_IN_EVENT_TYPES: readonly BuiltInEventType[] = builtInEvent.options.map((option) => option.shape.type.value);

const builtInTypes = new Set<string>(BUILT_IN_EVENT_TYPES);

export function isBuiltInEventType(type: string): type is BuiltInEventType {
  return builtInTypes.has(type);
}

export function isBuiltInEvent(event: IngestEvent): event is BuiltInEvent {
  return builtInTypes.has(event.type);
}

/**
 * An event of a type Onramp does not define (`payment.succeeded`): stored and counted, its
 * properties free-form. Attributed like a request: by developerId, or by properties.apiKey through
 * the key's `api_key.created` (waiting for it when it has not arrived yet).
 */
const customEvent = z
  .object({
    ...base,
    developerId: base.developerId.optional(),
    type: z
      .string()
      .max(MAX_EVENT_TYPE_LENGTH)
      .regex(EVENT_TYPE_PATTERN, EVENT_TYPE_MESSAGE)
      // A built-in type has its own schema, so it is never a custom event; in JSON Schema too.
      .refine((type) => !isBuiltInEventType(type), 'is a built-in type, with its own schema')
      .meta({ not: { enum: [...BUILT_IN_EVENT_TYPES] } })
      .describe('Your own event type (any type but the built-in ones), e.g. payment.succeeded'),
    properties: z.looseObject({ apiKey: id('apiKey').optional() }).default({}),
  })
  .refine((e) => e.developerId !== undefined || e.properties.apiKey !== undefined, {
    message: 'a custom event needs developerId or properties.apiKey',
    path: ['developerId'],
  });

export type CustomEvent = z.infer<typeof customEvent>;

/**
 * Any event: a built-in type with its own strict schema, any other well-formed type as a custom
 * event. A union reports every branch's problems for an event that fits none; the type says which
 * one was meant, so only that one's are reported (a signup with a bad email names
 * `properties.email`, not the custom branch's complaint about its type).
 */
export const ingestEvent = z.union([builtInEvent, customEvent]).check(
  z.superRefine(
    (event: unknown, ctx) => {
      const type = (event as { type?: unknown } | null)?.type;
      const meant = typeof type === 'string' && isBuiltInEventType(type) ? builtInEvent : customEvent;
      ctx.issues.splice(0, ctx.issues.length, ...((meant.safeParse(event).error?.issues ?? []) as z.core.$ZodRawIssue[]));
    },
    { when: (payload) => payload.issues.length > 0 },
  ),
);

export type IngestEvent = BuiltInEvent | CustomEvent;
export type ApiRequestEvent = z.infer<typeof apiRequest>;

/** Comparing `type` with 'api.request' cannot rule out a custom event (its type is any string); this guard does. */
export function isApiRequest(event: IngestEvent): event is ApiRequestEvent {
  return event.type === 'api.request';
}

/** The key that attributes an event sent without developerId: a request's, or a custom event's, `properties.apiKey`. */
export function attributingKey(event: IngestEvent): string | undefined {
  return event.type === 'api.request' || !isBuiltInEvent(event) ? event.properties.apiKey : undefined;
}

export const MAX_EVENTS_PER_BATCH = 1000;

/** `{"events":[…]}` or a single event object. */
export const ingestBody = z.preprocess(
  (body) => (body && typeof body === 'object' && !Array.isArray(body) && !('events' in body) ? { events: [body] } : body),
  z.object({ events: z.array(ingestEvent).min(1, 'must hold at least one event') }),
);
