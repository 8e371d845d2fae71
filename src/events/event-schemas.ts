import { z } from 'zod';
import { isoInstant } from './instant.ts';

/**
 * The ingest contract: event names (`noun.past_verb`) and their properties. Extra properties are
 * kept (losing nothing), the listed ones are validated. Instants are normalised to UTC ISO-8601.
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
export const emailOpened = event('email.opened', { messageId: id('messageId').optional() }, true);
export const emailClicked = event('email.clicked', { messageId: id('messageId').optional() }, true);
export const supportTicketCreated = event('support.ticket_created', { subject: z.string().max(1000).optional() }, true);
export const consentUpdated = event('consent.updated', { email: z.enum(['granted', 'revoked']) });

export const ingestEvent = z.discriminatedUnion('type', [
  docsViewed,
  developerSignedUp,
  developerEmailVerified,
  apiKeyCreated,
  apiRequest,
  quickstartCompleted,
  webhookRegistered,
  emailOpened,
  emailClicked,
  supportTicketCreated,
  consentUpdated,
]);

export type IngestEvent = z.infer<typeof ingestEvent>;
export type ApiRequestEvent = z.infer<typeof apiRequest>;
export type EventType = IngestEvent['type'];

export const MAX_EVENTS_PER_BATCH = 1000;

/** `{"events":[…]}` or a single event object. */
export const ingestBody = z.preprocess(
  (body) => (body && typeof body === 'object' && !Array.isArray(body) && !('events' in body) ? { events: [body] } : body),
  z.object({ events: z.array(ingestEvent).min(1, 'must hold at least one event') }),
);
