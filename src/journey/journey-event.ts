import type { JourneyFunnel, Stage } from './stages.ts';

/**
 * What the workflow hears: the journey-relevant events (ids and event times, no personal data),
 * plus milestones the ingest side derives from aggregated API traffic. Each carries a unique id
 * (the event id, or `<eventId>#<stage>` for a milestone) that the workflow deduplicates on.
 */
export type DomainEventType =
  | 'docs.viewed'
  | 'developer.signed_up'
  | 'developer.email_verified'
  | 'api_key.created'
  | 'quickstart.completed'
  | 'webhook.registered'
  | 'email.opened'
  | 'email.clicked'
  | 'email.bounced'
  | 'email.complained'
  | 'support.ticket_created'
  | 'consent.updated';

export interface DomainJourneyEvent {
  id: string;
  type: DomainEventType;
  occurredAt: string;
  /** Only what the journey decides on (mode, account type, channel…): never contact data. */
  properties?: Record<string, string | number | boolean>;
  /** Loaded by a backfill (`POST /v1/import`): the past, nothing is sent or escalated for it. */
  imported?: true;
}

/**
 * A stage the ingest side proved by evaluating the funnel in force over the stored events: the
 * earliest evidence it knows of, carrying the funnel version (and its stage list) it was evaluated
 * under, so that a journey never mixes two versions' evidence. Id `<causeEventId>#<stage>`, with
 * `@v<version>` after it from funnel version 2 on.
 */
export interface StageProvedEvent {
  id: string;
  type: 'stage.proved';
  stage: Stage;
  occurredAt: string;
  causeEventId: string;
  funnel: JourneyFunnel;
  /** Proved by imported events (a backfill). */
  imported?: true;
}

/**
 * A new funnel version came into force: every stage's earliest evidence under it, recomputed from
 * the stored events (id `funnel:v<version>`). The journey follows that version from now on: it
 * records these stages under it, as if it had followed it from the start, and treats what was due
 * already as the past (as an import).
 */
export interface FunnelChangedEvent {
  id: string;
  type: 'funnel.changed';
  /** When the recomputation reached this developer (ordering only). */
  occurredAt: string;
  funnel: JourneyFunnel;
  evidence: Record<Stage, { occurredAt: string; eventId: string }>;
}

/**
 * A stage proved by api.request traffic, as ingest sent it before the funnel was a document:
 * still in the histories (and outboxes) of journeys from then.
 */
export type ApiMilestoneStage = 'first_api_call' | 'active_integration' | 'production_deployment';

export interface ApiMilestoneEvent {
  id: string;
  type: 'api.milestone';
  stage: ApiMilestoneStage;
  occurredAt: string;
  causeEventId: string;
  /** Proved by imported traffic (a backfill). */
  imported?: true;
}

/**
 * A burst of errors in the developer's first session, detected on the ingest side from the
 * aggregated requests: one signal per kind, never one per request.
 */
export interface ErrorBurstEvent {
  id: string;
  type: 'api.error_burst';
  kind: 'unauthorized_burst' | 'bad_request_burst' | 'rate_limited_burst';
  occurredAt: string;
  status: number;
  count: number;
  /** The endpoint the errors concentrate on (400s). */
  endpoint?: string;
  /**
   * The errors went on after this kind's burst (id `burst:<developer>:<kind>:continued`, at most
   * one per developer and kind): `count` errors of its status (400s on any endpoint, `endpoint` the
   * most frequent) after the burst's last error and within `errorBursts.continuedWithin` of it.
   * Absent on the first burst.
   */
  continued?: boolean;
  /** Detected in imported traffic (a backfill): acts as nothing (see nudging.ts). */
  imported?: true;
}

/**
 * The earliest event of a type (any but api.request, built-in or custom) the ingest side knows
 * the developer sent: queued when an event lowers it (id `<eventId>#seen`), at most once per type
 * in order, so the journey learns which events a developer has sent, not every event. Rules that
 * wait for an event's absence decide on it.
 */
export interface EventSeenEvent {
  id: string;
  type: 'event.seen';
  eventType: string;
  occurredAt: string;
  /** Seen in imported events (a backfill). */
  imported?: true;
}

export type JourneyEvent = DomainJourneyEvent | ApiMilestoneEvent | StageProvedEvent | FunnelChangedEvent | ErrorBurstEvent | EventSeenEvent;

/** A hard bounce or a spam complaint: heard from machine version 5 on (journey-versions.ts). */
export function isDeliveryFailure(event: JourneyEvent): boolean {
  return event.type === 'email.bounced' || event.type === 'email.complained';
}

/** The id of an `event.seen` signal. */
export function eventSeenSignalId(eventId: string): string {
  return `${eventId}#seen`;
}

/** The signal id of a stage proof (version 1 keeps the id the milestones had, so neither is heard twice). */
export function stageProvedSignalId(causeEventId: string, stage: Stage, funnelVersion: number): string {
  return funnelVersion <= 1 ? `${causeEventId}#${stage}` : `${causeEventId}#${stage}@v${funnelVersion}`;
}

/**
 * Which shipped stages one event proves, as journeys derived them before the funnel was a
 * document (docs/concepts/versioning.md): only journeys that have not yet heard a `stage.proved`
 * still derive stages this way.
 */
export function stagesProvenBy(event: JourneyEvent): { stage: Stage; causeEventId: string }[] {
  switch (event.type) {
    case 'api.milestone':
      return [{ stage: event.stage, causeEventId: event.causeEventId }];
    case 'docs.viewed':
      return [{ stage: 'intent', causeEventId: event.id }];
    case 'developer.signed_up':
      return [{ stage: 'account_created', causeEventId: event.id }];
    case 'api_key.created':
      return [{ stage: 'credential_provisioned', causeEventId: event.id }];
    case 'quickstart.completed':
      return [{ stage: 'first_integration_milestone', causeEventId: event.id }];
    case 'webhook.registered':
      return event.properties?.mode === 'live' ? [{ stage: 'production_deployment', causeEventId: event.id }] : [];
    default:
      return [];
  }
}
