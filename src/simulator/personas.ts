import type { Rng } from './random.ts';
import type { AccountType, Channel, SimulatedProfile } from './simulation-types.ts';

/**
 * How synthetic developers behave, per acquisition channel, after the funnel reference model
 * (docs/concepts/funnel.md#cohorts-and-acquisition-channels): organic search has high intent and
 * goes straight to the reference (rarely the quickstart), listing-site explorers need guidance
 * (the quickstart, slower first call), paid acquisition has lower intent and a higher TTFAC. The
 * probabilities are calibrated so that the whole cohort lands near the reference model's medians
 * (docs/concepts/funnel.md#benchmark-bands): about 30 % signup → first call in 7 days, 40–55 %
 * first call → active in 14, 30–45 % active → production in 30
 * (test/unit/simulator/synthetic-cohort.test.ts checks a 4,000-developer cohort against those bands).
 */
export interface ChannelBehaviour {
  /** Creates a test key. */
  key: number;
  /** Given a key: ever makes a successful call. */
  call: number;
  /** Hours from the key to the first successful call: log-normal median and sigma. */
  firstCallHours: [median: number, sigma: number];
  /** Given a first call: completes the quickstart. */
  quickstart: number;
  /** Given a first call: ≥ 2 distinct endpoints in the first 24 h (active at once); ≥ 3 in `explore` of those. */
  multiEndpoint: number;
  explore: number;
  /** Otherwise: becomes active later, after a log-normal number of days (median 3, sigma 1). */
  activeLater: number;
  /** Given active: goes live, after a log-normal number of days (median 12, sigma 0.8). */
  production: number;
  /** Requests through an official SDK (else raw HTTP). */
  sdk: number;
}

export const CHANNEL_MIX: Readonly<Record<Channel, number>> = {
  organic_search: 0.35,
  listing_site: 0.2,
  paid: 0.2,
  referral: 0.1,
  direct: 0.1,
  other: 0.05,
};

export const BEHAVIOUR: Readonly<Record<Channel, ChannelBehaviour>> = {
  organic_search: { key: 0.8, call: 0.55, firstCallHours: [3, 1.6], quickstart: 0.15, multiEndpoint: 0.38, explore: 0.6, activeLater: 0.3, production: 0.45, sdk: 0.4 },
  listing_site: { key: 0.65, call: 0.4, firstCallHours: [18, 1.6], quickstart: 0.6, multiEndpoint: 0.25, explore: 0.3, activeLater: 0.3, production: 0.28, sdk: 0.65 },
  paid: { key: 0.55, call: 0.38, firstCallHours: [30, 1.5], quickstart: 0.35, multiEndpoint: 0.2, explore: 0.3, activeLater: 0.28, production: 0.3, sdk: 0.5 },
  referral: { key: 0.75, call: 0.55, firstCallHours: [4, 1.5], quickstart: 0.35, multiEndpoint: 0.35, explore: 0.5, activeLater: 0.3, production: 0.45, sdk: 0.55 },
  direct: { key: 0.7, call: 0.5, firstCallHours: [6, 1.5], quickstart: 0.35, multiEndpoint: 0.3, explore: 0.45, activeLater: 0.3, production: 0.4, sdk: 0.5 },
  other: { key: 0.6, call: 0.45, firstCallHours: [10, 1.5], quickstart: 0.4, multiEndpoint: 0.3, explore: 0.4, activeLater: 0.3, production: 0.35, sdk: 0.5 },
};

export const ACCOUNT_TYPES: Readonly<Record<AccountType, number>> = { individual: 0.75, organization: 0.25 };

/** How a developer treats email: how likely a nudge is opened and clicked. */
export type EmailHabit = 'engaged' | 'skimmer' | 'ignores';
export const EMAIL_HABITS: Readonly<Record<EmailHabit, number>> = { engaged: 0.2, skimmer: 0.4, ignores: 0.4 };
export const OPEN_CHANCE: Readonly<Record<EmailHabit, number>> = { engaged: 0.85, skimmer: 0.45, ignores: 0 };
export const CLICK_CHANCE: Readonly<Record<EmailHabit, number>> = { engaged: 0.5, skimmer: 0.1, ignores: 0 };

/** First-session errors: the share of developers (with a key) who hit each kind. */
export interface ErrorRates {
  /** A bad or missing key: several 401s before the first success (or instead of it). */
  status401: number;
  /** A missing parameter: 400s concentrated on one endpoint. */
  status400: number;
  /** Too fast: 429s. */
  status429: number;
}

export const DEFAULT_ERROR_RATES: ErrorRates = { status401: 0.15, status400: 0.08, status429: 0.04 };

/** The API the synthetic developers call: the first is where the quickstart starts. */
export const ENDPOINTS = ['/v1/charges', '/v1/customers', '/v1/refunds', '/v1/balance', '/v1/payouts', '/v1/invoices'] as const;

/** User agents classified as SDKs by the shipped patterns (src/events/user-agent.ts)… */
export const SDK_USER_AGENTS = ['acme-node/4.2.1', 'acme-python/3.9.0', 'acme-ruby/2.1.4', 'acme-go/1.7.2', 'Stainless/acme-java 0.12.0'] as const;
/** …and raw HTTP clients. */
export const RAW_USER_AGENTS = ['curl/8.5.0', 'python-requests/2.32.3', 'axios/1.7.9', 'Go-http-client/2.0', 'PostmanRuntime/7.42.0'] as const;

export const TIME_ZONES = [
  'America/New_York',
  'America/Los_Angeles',
  'America/Sao_Paulo',
  'Europe/London',
  'Europe/Berlin',
  'Asia/Kolkata',
  'Asia/Tokyo',
  'Australia/Sydney',
] as const;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Most developers read the docs before signing up: this share, this long before (log-normal median). */
export const DOCS_BEFORE_SIGNUP = { share: 0.7, medianMs: 20 * MINUTE } as const;

/** A synthetic developer before any funnel: who it is and how it behaves. */
export interface Persona {
  profile: SimulatedProfile;
  behaviour: ChannelBehaviour;
  emailHabit: EmailHabit;
  /** The signup instant, ms. */
  signedUpAt: number;
}

/** Draws a persona from the developer's own stream (first, so every generator draws the same people). */
export function drawPersona(rng: Rng, who: { id: string; orgId: string; start: number; days: number }): Persona {
  const channel = rng.weighted(CHANNEL_MIX);
  const accountType = rng.weighted(ACCOUNT_TYPES);
  const signedUpAt = who.start + rng.float() * who.days * DAY;
  const timezone = rng.pick(TIME_ZONES);
  const emailHabit = rng.weighted(EMAIL_HABITS);
  const orgId = accountType === 'organization' ? who.orgId : undefined;
  const profile = {
    id: who.id,
    email: `${who.id}@example.com`,
    accountType,
    channel,
    timezone,
    signedUpAt: new Date(Math.floor(signedUpAt)).toISOString(),
    ...(orgId ? { orgId } : {}),
  };
  return { profile, behaviour: BEHAVIOUR[channel], emailHabit, signedUpAt };
}

/** The properties of the developer's `developer.signed_up`: who it is. */
export function signupProperties(profile: SimulatedProfile): Record<string, unknown> {
  return {
    email: profile.email,
    accountType: profile.accountType,
    acquisitionChannel: profile.channel,
    timezone: profile.timezone,
    ...(profile.orgId ? { orgId: profile.orgId } : {}),
  };
}

/** One step of a journey after the signup: whether the developer goes on to the next stage, and how long it takes. */
export interface Step {
  chance: number;
  delayMs: (rng: Rng) => number;
}

/**
 * The behaviour as steps through any funnel (a funnel of your own: funnel-cohort.ts), after the
 * shipped funnel's from the signup: a key, the first call, an active integration, production; a
 * longer funnel repeats the last step.
 */
export function stepsAfterSignup(behaviour: ChannelBehaviour): Step[] {
  const [callMedian, callSigma] = behaviour.firstCallHours;
  return [
    { chance: behaviour.key, delayMs: (rng) => (rng.chance(0.85) ? rng.logNormal(8 * MINUTE, 1) : rng.logNormal(DAY, 1)) },
    { chance: behaviour.call, delayMs: (rng) => Math.max(MINUTE, rng.logNormal(callMedian, callSigma) * HOUR) },
    { chance: behaviour.multiEndpoint + (1 - behaviour.multiEndpoint) * behaviour.activeLater, delayMs: (rng) => rng.logNormal(DAY, 1) },
    { chance: behaviour.production, delayMs: (rng) => Math.max(DAY, rng.logNormal(12 * DAY, 0.8)) },
  ];
}
