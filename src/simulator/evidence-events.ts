import { ingestEvent, type BuiltInEventType } from '../events/event-schemas.ts';
import type { CompiledEvidence } from '../funnel/evaluate-funnel.ts';
import type { EventEvidence, RequestEvidence, StageEvidence } from '../funnel/funnel-schema.ts';
import { ACCOUNT_TYPES, CHANNEL_MIX, ENDPOINTS, TIME_ZONES } from './personas.ts';
import { Rng } from './random.ts';

/**
 * Events that meet one piece of a funnel's stage evidence, for the simulator of a funnel of your
 * own (funnel-cohort.ts): an event of the type with properties that hold its `where`, or requests
 * that meet a request condition and its threshold. Each choice the evidence leaves open (a status
 * in a class, a method, a mode, an endpoint matching a glob, one value of a list) is drawn, so
 * another draw can avoid proving another stage by accident. What cannot be made says why.
 */

/** An event to emit, attributed by the developer's id: its type, instant (ms) and properties (a request's: endpoint, method, status, mode). */
export interface DraftEvent {
  type: string;
  at: number;
  properties: Record<string, unknown>;
}

export type EvidenceMaker =
  /** Draws events meeting the evidence, the last of them at `at` (a threshold's others within its window before). */
  | { kind: 'events'; make: (rng: Rng, developerId: string, at: number) => DraftEvent[] }
  /** `developer.signed_up`: met by the developer's one signup, when its profile holds `where`. */
  | { kind: 'signup' }
  | { kind: 'none'; reason: string };

/** The most requests the simulator sends to meet one threshold. */
export const MAX_THRESHOLD_REQUESTS = 200;

const MINUTE = 60_000;

/** What each built-in event type needs besides its `where` to pass the ingest schema. */
const BUILT_IN_PROPERTIES: Partial<Record<BuiltInEventType, (rng: Rng, developerId: string) => Record<string, unknown>>> = {
  'docs.viewed': (rng) => ({ path: rng.pick(['/docs/quickstart', '/docs/api/charges', '/pricing', '/docs/authentication']) }),
  'api_key.created': (rng, developerId) => ({ apiKey: `key_${developerId}_${rng.int(1000, 9999)}`, mode: rng.pick(['test', 'live']) }),
  'webhook.registered': (rng, developerId) => ({ url: `https://${developerId}.example.com/hooks`, mode: rng.pick(['test', 'live']) }),
  'support.ticket_created': () => ({ subject: 'How do I get started?' }),
  'consent.updated': () => ({ email: 'granted' }),
};

/** What a simulated signup's profile can hold (personas.ts): a `where` on anything else is never met. */
const PROFILE_VALUES: Record<string, readonly unknown[]> = {
  accountType: Object.keys(ACCOUNT_TYPES),
  acquisitionChannel: Object.keys(CHANNEL_MIX),
  timezone: TIME_ZONES,
};

export function evidenceMaker(evidence: StageEvidence, compiled: CompiledEvidence): EvidenceMaker {
  if ('event' in evidence) return evidence.event === 'developer.signed_up' ? signupMaker(evidence) : eventMaker(evidence);
  if (compiled.kind !== 'request') throw new Error('a request condition compiles to a request predicate');
  return requestMaker(evidence.request, compiled);
}

function signupMaker({ where = {} }: EventEvidence): EvidenceMaker {
  for (const [name, expected] of Object.entries(where)) {
    const possible = PROFILE_VALUES[name];
    if (!possible?.some((value) => [expected].flat().includes(value as never)))
      return { kind: 'none', reason: `developer.signed_up where ${name}: no simulated developer's signup has ${JSON.stringify(expected)}` };
  }
  return { kind: 'signup' };
}

function eventMaker({ event, where = {} }: EventEvidence): EvidenceMaker {
  const base = BUILT_IN_PROPERTIES[event as BuiltInEventType] ?? (() => ({}));
  const probe = base(new Rng(event), 'd');
  const valid = (properties: Record<string, unknown>) =>
    ingestEvent.safeParse({ id: 'e', type: event, developerId: 'd', occurredAt: new Date(0).toISOString(), properties: { ...probe, ...properties } });
  // The values of each condition that the type's schema takes (a built-in type validates some properties).
  const choices: [string, unknown[]][] = [];
  for (const [name, expected] of Object.entries(where)) {
    const allowed = [expected].flat().filter((value) => valid({ [name]: value }).success);
    if (allowed.length === 0) {
      const problem = valid({ [name]: [expected].flat()[0] }).error?.issues[0]?.message ?? 'refused';
      return { kind: 'none', reason: `${event} where ${name}: no value of ${JSON.stringify(expected)} passes the ${event} schema (${problem})` };
    }
    choices.push([name, allowed]);
  }
  return {
    kind: 'events',
    make: (rng, developerId, at) => [
      { type: event, at, properties: { ...base(rng, developerId), ...Object.fromEntries(choices.map(([name, values]) => [name, rng.pick(values)])) } },
    ],
  };
}

/** Representative codes of a status class, or the code; no 400, 401 or 429 unless named (they are error bursts). */
const STATUS_CODES: Record<string, number[]> = { '1xx': [102], '2xx': [200, 201], '3xx': [302], '4xx': [404, 422], '5xx': [503] };

function requestMaker(request: RequestEvidence, compiled: Extract<CompiledEvidence, { kind: 'request' }>): EvidenceMaker {
  const statuses = request.status === undefined ? [200, 200, 201, 404] : [request.status].flat().flatMap((s) => (typeof s === 'number' ? [s] : STATUS_CODES[s]!));
  const methods = request.method === undefined ? ['GET', 'POST'] : [request.method].flat();
  const modes = request.mode === undefined ? ['test', 'test', 'live'] : [request.mode];
  const requests = Math.max(request.count ?? 1, request.distinctEndpoints ?? 1);
  if (requests > MAX_THRESHOLD_REQUESTS) return { kind: 'none', reason: `needs ${requests} requests, more than the simulator sends for one stage (${MAX_THRESHOLD_REQUESTS})` };
  const distinct = request.distinctEndpoints ?? 1;
  const endpoints = concreteEndpoints(request.endpoint === undefined ? undefined : [request.endpoint].flat(), compiled.endpointCounts, Math.max(distinct, 3));
  if (endpoints.length < distinct) {
    const globs = request.endpoint === undefined ? 'any endpoint' : JSON.stringify(request.endpoint);
    return {
      kind: 'none',
      reason: `needs ${distinct} distinct endpoints matching ${globs}${request.exclude ? ` outside ${JSON.stringify(request.exclude)}` : ''}; the simulator can make ${endpoints.length}`,
    };
  }
  // A threshold's requests lie within its window before the last one, well inside it.
  const windowMs = compiled.threshold?.windowMs ?? Infinity;
  const gap = Math.max(1, Math.floor(Math.min(10 * MINUTE, windowMs / (2 * requests))));
  return {
    kind: 'events',
    make: (rng, _developerId, at) => {
      const mode = rng.pick(modes);
      const used = rng.shuffle([...endpoints]).slice(0, Math.max(distinct, 1));
      return Array.from({ length: requests }, (_, i) => ({
        type: 'api.request',
        at: at - (requests - 1 - i) * gap,
        properties: { endpoint: i < used.length ? used[i]! : rng.pick(used), method: rng.pick(methods), status: rng.pick(statuses), mode },
      }));
    },
  };
}

/**
 * Up to `wanted` distinct endpoints that count for the evidence: the personas' API where no glob is
 * given, else each glob with its wildcards filled in (`*`, `**` → a segment of its own per endpoint).
 */
function concreteEndpoints(globs: string[] | undefined, counts: (endpoint: string) => boolean, wanted: number): string[] {
  const candidates =
    globs === undefined
      ? [...ENDPOINTS, ...Array.from({ length: wanted }, (_, i) => `/v1/sim${i}`)]
      : globs.flatMap((glob) => (glob.includes('*') ? Array.from({ length: wanted }, (_, i) => glob.replaceAll(/\*+/g, `sim${i}`)) : [glob]));
  return [...new Set(candidates.filter(counts))].slice(0, wanted);
}
