import type { DomainJourneyEvent } from '../journey/journey-event.ts';
import type { BuiltInEvent } from './event-schemas.ts';

/**
 * The properties a journey decides on. Contact data (email, urls, subjects) stays in PostgreSQL.
 * The time zone is personal but decides quiet hours in the machine: whichever way it reached the
 * workflow (this signal, or a local activity's result) it would be in the history, so it travels
 * here and a deletion deletes the history, every run (src/temporal/journey-client.ts).
 */
const JOURNEY_PROPERTIES = ['mode', 'accountType', 'acquisitionChannel', 'orgId', 'timezone', 'messageId', 'bounceType'] as const;

/** The built-in events a journey may hear (not the request stream, not a reader's feedback on an email). */
export type JourneyHeardEvent = Exclude<BuiltInEvent, { type: 'api.request' | 'email.feedback' }>;

export function toJourneyEvent(event: JourneyHeardEvent): DomainJourneyEvent {
  const source = event.properties as Record<string, unknown>;
  const properties: Record<string, string> = {};
  for (const key of JOURNEY_PROPERTIES) {
    const value = source[key];
    if (typeof value === 'string') properties[key] = value;
  }
  if (event.type === 'consent.updated') properties.emailConsent = event.properties.email;
  return { id: event.id, type: event.type, occurredAt: event.occurredAt, properties };
}
