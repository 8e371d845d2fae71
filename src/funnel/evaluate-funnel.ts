import picomatch from 'picomatch';
import { isEarlier } from '../journey/evidence-order.ts';
import { durationMs } from '../rules/duration.ts';
import { API_REQUEST, type EventEvidence, type FunnelDocument, type RequestEvidence, type StageEvidence } from './funnel-schema.ts';

/**
 * What a funnel says of one developer's events, evaluated directly from the document: for each
 * stage, the earliest event matching any of its evidence. The definition the ingest path's stage
 * evidence is held to (a test runs both over the same streams), and what a preview of a candidate
 * funnel computes over history.
 */

/** An event as stored: `api.request` carries `endpoint`, `method`, `status` and `mode` in its properties. */
export interface FunnelEvent {
  id: string;
  type: string;
  occurredAt: string;
  properties?: Record<string, unknown>;
}

/** The event that proves a stage. */
export interface StageProof {
  occurredAt: string;
  eventId: string;
}

/** A request threshold: reached by the request that makes `count` matching requests, or `distinctEndpoints` endpoints, within `windowMs`. */
export interface Threshold {
  count?: number;
  distinctEndpoints?: number;
  /** Infinity when the evidence gives no `within`. */
  windowMs: number;
}

/** One evidence of a stage as predicates: what the ingest side evaluates incrementally. */
export type CompiledEvidence =
  | { kind: 'event'; type: string; matches: (e: FunnelEvent) => boolean }
  | {
      kind: 'request';
      matches: (e: FunnelEvent) => boolean;
      /** Whether an endpoint can count at all (its glob, not excluded). */
      endpointCounts: (endpoint: string) => boolean;
      /** Only 2xx statuses match (the aggregates' `ok_requests` then bound how many can). */
      okOnly: boolean;
      threshold?: Threshold;
    };

/** A funnel's evidence as predicates, compiled once for many developers. */
export interface CompiledFunnel {
  stages: { id: string; evidence: CompiledEvidence[] }[];
}

export function compileFunnel(funnel: FunnelDocument): CompiledFunnel {
  return { stages: funnel.stages.map((stage) => ({ id: stage.id, evidence: stage.evidence.map(compileEvidence) })) };
}

/** The earliest event proving one evidence, over all of a developer's events. */
function proofOf(evidence: CompiledEvidence, events: readonly FunnelEvent[]): StageProof | undefined {
  const matching = events.filter(evidence.matches);
  if (evidence.kind === 'event' || evidence.threshold === undefined) return earliest(matching);
  return firstToReach(matching.sort(byEvidenceOrder), evidence.threshold);
}

/** The earliest proof of each stage the events reach (stages they do not reach are absent). */
export function evaluateFunnel(funnel: CompiledFunnel, events: readonly FunnelEvent[]): Map<string, StageProof> {
  const reached = new Map<string, StageProof>();
  for (const stage of funnel.stages) {
    let best: StageProof | undefined;
    for (const evidence of stage.evidence) {
      const proof = proofOf(evidence, events);
      if (proof && isEarlier(proof, best)) best = proof;
    }
    if (best) reached.set(stage.id, best);
  }
  return reached;
}

function compileEvidence(evidence: StageEvidence): CompiledEvidence {
  if ('event' in evidence) return { kind: 'event', type: evidence.event, matches: eventMatcher(evidence) };
  const { count, distinctEndpoints, within } = evidence.request;
  const statuses = evidence.request.status === undefined ? undefined : [evidence.request.status].flat();
  return {
    kind: 'request',
    matches: requestMatcher(evidence.request),
    endpointCounts: endpointMatcher(evidence.request),
    okOnly: statuses !== undefined && statuses.every((s) => s === '2xx' || (typeof s === 'number' && s >= 200 && s <= 299)),
    ...(count === undefined && distinctEndpoints === undefined ? {} : { threshold: { count, distinctEndpoints, windowMs: within === undefined ? Infinity : durationMs(within) } }),
  };
}

function eventMatcher({ event, where = {} }: EventEvidence): (e: FunnelEvent) => boolean {
  const conditions = Object.entries(where).map(([name, expected]) => {
    const allowed = Array.isArray(expected) ? expected : [expected];
    return (properties: Record<string, unknown>) => Object.hasOwn(properties, name) && allowed.some((value) => value === properties[name]);
  });
  return (e) => e.type === event && conditions.every((holds) => holds(e.properties ?? {}));
}

function requestMatcher(request: RequestEvidence): (e: FunnelEvent) => boolean {
  const statuses = request.status === undefined ? undefined : [request.status].flat();
  const methods = request.method === undefined ? undefined : new Set([request.method].flat());
  const endpointCounts = endpointMatcher(request);
  return (e) => {
    if (e.type !== API_REQUEST) return false;
    const p = e.properties ?? {};
    return (
      (statuses === undefined || statuses.some((s) => statusMatches(s, p.status))) &&
      (methods === undefined || (typeof p.method === 'string' && methods.has(p.method))) &&
      (request.mode === undefined || p.mode === request.mode) &&
      endpointCounts(typeof p.endpoint === 'string' ? p.endpoint : '')
    );
  };
}

function endpointMatcher(request: RequestEvidence): (path: string) => boolean {
  const endpoint = request.endpoint === undefined ? undefined : globMatcher([request.endpoint].flat());
  const excluded = request.exclude === undefined ? undefined : globMatcher(request.exclude);
  return (path) => (endpoint === undefined || endpoint(path)) && (excluded === undefined || !excluded(path));
}

/** `*` within a path segment, `**` across segments, as the schema documents; nothing else is special to the author. */
function globMatcher(globs: string[]): (path: string) => boolean {
  return picomatch(globs, { dot: true, nobrace: true, noextglob: true, nonegate: true });
}

function statusMatches(expected: string | number, status: unknown): boolean {
  if (typeof status !== 'number') return false;
  return typeof expected === 'number' ? status === expected : Math.floor(status / 100) === Number(expected[0]);
}

function earliest(events: readonly FunnelEvent[]): StageProof | undefined {
  let best: StageProof | undefined;
  for (const e of events) if (isEarlier({ occurredAt: e.occurredAt, eventId: e.id }, best)) best = { occurredAt: e.occurredAt, eventId: e.id };
  return best;
}

export const byEvidenceOrder = (a: FunnelEvent, b: FunnelEvent) => (isEarlier({ occurredAt: a.occurredAt, eventId: a.id }, { occurredAt: b.occurredAt, eventId: b.id }) ? -1 : 1);

/**
 * The first request (in evidence order) at which the matching requests of the window ending at
 * its time — those no earlier than `windowMs` before it, and those at the same instant — number
 * `count`, or span `distinctEndpoints` endpoints. `sorted` holds only matching requests.
 */
export function firstToReach(sorted: readonly FunnelEvent[], { windowMs, ...threshold }: Threshold): StageProof | undefined {
  const at = sorted.map((e) => Date.parse(e.occurredAt));
  const endpointOf = (i: number) => String(sorted[i]!.properties?.endpoint ?? '');
  const inWindow = new Map<string, number>();
  let left = 0;
  let right = 0; // exclusive: [left, right) is the window
  for (let i = 0; i < sorted.length; i++) {
    for (; right < sorted.length && at[right]! <= at[i]!; right++) inWindow.set(endpointOf(right), (inWindow.get(endpointOf(right)) ?? 0) + 1);
    for (; at[left]! < at[i]! - windowMs; left++) {
      const remaining = inWindow.get(endpointOf(left))! - 1;
      if (remaining === 0) inWindow.delete(endpointOf(left));
      else inWindow.set(endpointOf(left), remaining);
    }
    const reached =
      (threshold.count === undefined || right - left >= threshold.count) && (threshold.distinctEndpoints === undefined || inWindow.size >= threshold.distinctEndpoints);
    if (reached) return { occurredAt: sorted[i]!.occurredAt, eventId: sorted[i]!.id };
  }
  return undefined;
}
