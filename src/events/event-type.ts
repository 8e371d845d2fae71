/**
 * What an event type may be called, built-in or custom, in events and in funnel evidence:
 * `noun.past_verb` and longer, lower-case words joined by dots (`payment.succeeded`,
 * `team.member_invited`).
 */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
export const MAX_EVENT_TYPE_LENGTH = 64;
export const EVENT_TYPE_MESSAGE = 'must be an event type like "payment.succeeded": lower-case words joined by dots';
