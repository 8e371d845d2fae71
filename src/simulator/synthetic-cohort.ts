import type { IngestEvent } from '../events/event-schemas.ts';
import {
  CLICK_CHANCE,
  DEFAULT_ERROR_RATES,
  DOCS_BEFORE_SIGNUP,
  drawPersona,
  ENDPOINTS,
  OPEN_CHANCE,
  RAW_USER_AGENTS,
  SDK_USER_AGENTS,
  signupProperties,
  type ErrorRates,
  type Persona,
} from './personas.ts';
import { Rng } from './random.ts';
import type { SimulatedDeveloper } from './simulation-types.ts';
import { Timeline } from './timeline.ts';

/**
 * Synthetic developers (validate instrumentation and rules on synthetic journeys before they go
 * live: docs/concepts/funnel.md#automation-and-people): each one's events in the ingest contract, generated from a per-channel behaviour
 * (personas.ts), with the ground truth of what it did written down as it is generated, not
 * derived from the events, so that Onramp's stages and metrics can be checked against it.
 */

export interface CohortOptions {
  seed: number;
  developers: number;
  /** Signups spread uniformly over this many days from `start`. */
  days: number;
  start: Date;
  /** Nothing after this instant is generated (default: `start` + `days`). */
  until?: Date;
  errorRates?: Partial<ErrorRates>;
  /** Developer ids are `<prefix><index, 6 digits>` (default `sim<seed>-`). */
  idPrefix?: string;
  /** Index of the first developer (to add developers to a cohort without changing it). */
  firstIndex?: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export function generateCohort(options: CohortOptions): SimulatedDeveloper[] {
  const first = options.firstIndex ?? 0;
  return Array.from({ length: options.developers }, (_, i) => generateDeveloper(options, first + i));
}

export function developerId(options: Pick<CohortOptions, 'seed' | 'idPrefix'>, index: number): string {
  return `${options.idPrefix ?? `sim${options.seed}-`}${String(index).padStart(6, '0')}`;
}

/** Where a developer's stream starts, and the persona drawn first from it (funnel-cohort.ts draws the same people). */
export function startDeveloper(options: CohortOptions, index: number): { rng: Rng; persona: Persona; until: number } {
  const rng = new Rng(options.seed, index);
  const start = options.start.getTime();
  const until = (options.until ?? new Date(start + options.days * DAY)).getTime();
  const persona = drawPersona(rng, { id: developerId(options, index), orgId: `org-${options.seed}-${Math.floor(index / 3)}`, start, days: options.days });
  return { rng, persona, until };
}

function generateDeveloper(options: CohortOptions, index: number): SimulatedDeveloper {
  const { rng, persona, until } = startDeveloper(options, index);
  const { profile, behaviour, signedUpAt } = persona;
  const { id } = profile;
  const errorRates = { ...DEFAULT_ERROR_RATES, ...options.errorRates };
  const line = new Timeline(id, until, 'first_api_call');
  line.truth.emailHabit = persona.emailHabit;

  // Intent and signup.
  if (rng.chance(DOCS_BEFORE_SIGNUP.share))
    line.emit(
      'docs.viewed',
      signedUpAt - rng.logNormal(DOCS_BEFORE_SIGNUP.medianMs, 1),
      { path: rng.pick(['/docs/quickstart', '/docs/api/charges', '/pricing', '/docs/authentication']) },
      'intent',
    );
  line.emit('developer.signed_up', signedUpAt, signupProperties(profile), 'account_created');
  if (rng.chance(0.9)) line.emit('developer.email_verified', signedUpAt + rng.between(1, 30) * MINUTE, {});
  if (rng.chance(0.02)) line.emit('consent.updated', signedUpAt + rng.between(0, 10) * DAY, { email: 'revoked' });

  if (!rng.chance(behaviour.key)) return { profile, events: line.finish(), truth: line.truth };

  // The test key; every request from here on carries it (or the live one), not the developer id.
  const keyAt = signedUpAt + (rng.chance(0.85) ? rng.logNormal(8 * MINUTE, 1) : rng.logNormal(DAY, 1));
  const apiKey = `key_${id}_test`;
  line.emit('api_key.created', keyAt, { apiKey, mode: 'test' }, 'credential_provisioned');
  const sdk = rng.chance(behaviour.sdk);
  const agent = () => (sdk && !rng.chance(0.1) ? { userAgent: rng.pick(SDK_USER_AGENTS), sdk: true } : { userAgent: rng.pick(RAW_USER_AGENTS), sdk: false });
  const call = (at: number, endpoint: string, status = 200, mode: 'test' | 'live' = 'test') => {
    if (!line.request(at, { apiKey: mode === 'live' ? `key_${id}_live` : apiKey, endpoint, status, mode, ...agent() })) return;
    if (status >= 200 && status <= 299) line.prove('first_api_call', at);
    if (status >= 200 && status <= 299 && mode === 'live') line.prove('production_deployment', at);
  };
  const [has401, has400, has429] = [rng.chance(errorRates.status401), rng.chance(errorRates.status400), rng.chance(errorRates.status429)];

  const calls = rng.chance(behaviour.call);
  if (!calls) {
    // Stuck: a few failed attempts (a wrong key, a missing parameter), then silence; sometimes a ticket.
    const tryAt = keyAt + rng.logNormal(2 * HOUR, 1);
    if (has401) for (let n = rng.int(2, 9); n > 0; n--) call(tryAt + n * rng.between(0.5, 5) * MINUTE, ENDPOINTS[0], 401);
    else if (has400) for (let n = rng.int(3, 10); n > 0; n--) call(tryAt + n * rng.between(0.5, 5) * MINUTE, ENDPOINTS[1], 400);
    if (
      rng.chance(0.08) &&
      line.emit('support.ticket_created', keyAt + rng.between(2, 6) * DAY, { subject: has401 ? 'Getting 401 with my new key' : 'How do I make the first call?' })
    )
      line.truth.tickets++;
    return { profile, events: line.finish(), truth: line.truth };
  }

  // The first session: errors first (a wrong key), then the first success, then exploration.
  const firstCallAt = keyAt + Math.max(MINUTE, rng.logNormal(behaviour.firstCallHours[0], behaviour.firstCallHours[1]) * HOUR);
  if (has401) for (let n = rng.int(2, 9); n > 0; n--) call(firstCallAt - n * rng.between(0.5, 5) * MINUTE, ENDPOINTS[0], 401);
  const [home, ...others] = profile.channel === 'organic_search' ? rng.shuffle([...ENDPOINTS]) : [ENDPOINTS[0], ...rng.shuffle(ENDPOINTS.slice(1))];
  call(firstCallAt, home!);
  const depth = rng.chance(behaviour.multiEndpoint) ? (rng.chance(behaviour.explore) ? rng.int(3, 4) : 2) : 1;
  const explored = others.slice(0, depth - 1);
  const exploredAt = explored.map(() => firstCallAt + rng.between(2, 180) * MINUTE).sort((a, b) => a - b);
  explored.forEach((endpoint, i) => call(exploredAt[i]!, endpoint));
  for (let n = rng.int(0, 3); n > 0; n--) call(firstCallAt + rng.between(1, 240) * MINUTE, home!);
  if (has400) {
    const target = others[others.length - 1]!;
    for (let n = rng.int(3, 10); n > 0; n--) call(firstCallAt + rng.between(1, 120) * MINUTE, rng.chance(0.8) ? target : home!, 400);
  }
  if (has429) for (let n = rng.int(3, 6); n > 0; n--) call(firstCallAt + rng.between(10, 60) * MINUTE, home!, 429);
  if (rng.chance(behaviour.quickstart)) line.emit('quickstart.completed', firstCallAt + rng.logNormal(2 * HOUR, 1.2), {}, 'first_integration_milestone');

  // Active integration: at once (a second endpoint in the first session), later, or never.
  let activeAt = exploredAt[0];
  if (activeAt === undefined && rng.chance(behaviour.activeLater)) {
    const sessionAt = firstCallAt + Math.max(1.05 * DAY, rng.logNormal(3 * DAY, 1));
    call(sessionAt, home!);
    activeAt = sessionAt + rng.between(5, 90) * MINUTE;
    call(activeAt, others[0]!);
  }
  if (activeAt === undefined) {
    // Light use of the one endpoint, never a second: not active.
    for (let n = rng.int(0, 3); n > 0; n--) call(firstCallAt + rng.between(1.05, 20) * DAY, home!);
    return { profile, events: line.finish(), truth: line.truth };
  }
  const used = [home!, ...others.slice(0, Math.max(1, depth - 1))];
  for (let s = rng.int(1, 3); s > 0; s--) {
    const sessionAt = activeAt + rng.between(1, 20) * DAY;
    for (let n = rng.int(3, 8); n > 0; n--) call(sessionAt + n * rng.between(1, 20) * MINUTE, rng.pick(used));
  }
  if (rng.chance(0.3)) line.emit('webhook.registered', activeAt + rng.between(1, 48) * HOUR, { url: `https://${id}.example.com/hooks`, mode: 'test' });

  // Production: a live key, then a live webhook or a live request, whichever comes first proves it.
  if (rng.chance(behaviour.production)) {
    const liveAt = activeAt + Math.max(DAY, rng.logNormal(12 * DAY, 0.8));
    line.emit('api_key.created', liveAt - rng.between(10, 120) * MINUTE, { apiKey: `key_${id}_live`, mode: 'live' });
    if (rng.chance(0.5)) line.emit('webhook.registered', liveAt, { url: `https://${id}.example.com/hooks`, mode: 'live' }, 'production_deployment');
    else call(liveAt, home!, 200, 'live');
    for (let s = rng.int(1, 4); s > 0; s--) {
      const sessionAt = liveAt + rng.between(0.1, 14) * DAY;
      for (let n = rng.int(2, 6); n > 0; n--) call(sessionAt + n * rng.between(1, 30) * MINUTE, rng.pick(used), 200, 'live');
    }
  }
  line.prove('active_integration', activeAt);
  return { profile, events: line.finish(), truth: line.truth };
}

/**
 * How a developer answers a nudge that was actually sent: opens (and maybe a click) a while
 * after it, by the developer's email habit. Deterministic for (seed, developer, nudge), so a
 * repeated reaction has the same event ids and is a duplicate.
 */
export function reactToNudge(developer: SimulatedDeveloper, nudge: { nudgeKey: string; sentAt: Date; messageId?: string }, seed: number): IngestEvent[] {
  const rng = new Rng(seed, developer.profile.id, nudge.nudgeKey);
  const habit = developer.truth.emailHabit;
  if (!rng.chance(OPEN_CHANCE[habit])) return [];
  const events: IngestEvent[] = [];
  const base = `${developer.profile.id}.email.${nudge.nudgeKey}`;
  const properties = nudge.messageId ? { messageId: nudge.messageId } : {};
  let at = nudge.sentAt.getTime() + rng.logNormal(40 * MINUTE, 1.2);
  const firstOpen = at;
  for (let n = 1; n <= (habit === 'engaged' ? rng.int(1, 3) : 1); n++) {
    events.push({ id: `${base}.open${n}`, type: 'email.opened', developerId: developer.profile.id, occurredAt: new Date(Math.floor(at)).toISOString(), properties });
    at += rng.logNormal(6 * HOUR, 1);
  }
  if (rng.chance(CLICK_CHANCE[habit])) {
    events.push({
      id: `${base}.click`,
      type: 'email.clicked',
      developerId: developer.profile.id,
      occurredAt: new Date(Math.floor(firstOpen + rng.between(10, 300) * 1000)).toISOString(),
      properties,
    });
  }
  return events;
}
