import type { FunnelDocument } from './funnel-schema.ts';

/**
 * The funnel as the engine reads it: a stored version (the newest is in force) and the lookups
 * every reader of the stage list shares — ingest, journeys, metrics, the API.
 */
export interface FunnelVersion {
  version: number;
  document: FunnelDocument;
}

/** The funnel in force now. */
export type ReadFunnelInForce = () => Promise<FunnelVersion>;

/** What a metric measures to: `first_call` (time to first call), `production` (the production rate). */
export type StageRole = NonNullable<FunnelDocument['stages'][number]['role']>;

/**
 * The advisory lock that orders funnel changes and ingest: each ingest transaction holds it shared
 * while it evaluates a batch under the version it read, a new version is stored holding it
 * exclusively. So once a version is committed, every batch evaluated under an older one has
 * committed too, and the recomputation that follows sees all their events.
 */
export const FUNNEL_VERSION_LOCK = 0x6f6e72616d70; // "onramp"

/** The stage ids in funnel order. */
export function stageIds(document: FunnelDocument): string[] {
  return document.stages.map((stage) => stage.id);
}

/** Why `id` is not a stage of the funnel (naming the ones it has), or undefined when it is. */
export function unknownStageProblem(document: FunnelDocument, id: string): string | undefined {
  const ids = stageIds(document);
  return ids.includes(id) ? undefined : `unknown stage "${id}" (one of ${ids.join(', ')})`;
}

/** The stage a metric measures to (`first_call`, `production`), if the funnel names one. */
export function stageWithRole(document: FunnelDocument, role: StageRole): string | undefined {
  return document.stages.find((stage) => stage.role === role)?.id;
}

/** The stage with a role as people see it (id and label), or null when the funnel names none. */
export function roleStage(document: FunnelDocument, role: StageRole): { id: string; label: string } | null {
  const id = stageWithRole(document, role);
  return id === undefined ? null : { id, label: stageLabel(document, id) };
}

/**
 * How people see a stage, wherever it is shown (API, dashboard, CLI, Slack, emails): its label in
 * the funnel, else its id humanised (`first_charge` → "First charge", `first_api_call` → "First API call").
 */
export function stageLabel(document: FunnelDocument, id: string): string {
  return document.stages.find((stage) => stage.id === id)?.label ?? humanisedStageId(id);
}

const ACRONYMS = new Set(['api', 'sdk']);

function humanisedStageId(id: string): string {
  const words = id
    .split('_')
    .filter((word) => word.length > 0)
    .map((word) => (ACRONYMS.has(word) ? word.toUpperCase() : word));
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The stages as a person reads them, in funnel order: id, label (stageLabel) and role (or null). */
export function stageSummaries(document: FunnelDocument): { id: string; label: string; role: StageRole | null }[] {
  return document.stages.map((stage) => ({ id: stage.id, label: stageLabel(document, stage.id), role: stage.role ?? null }));
}

/** Why a figure measured to a role is empty: the funnel gives no stage that role. */
export function missingRoleWarning(role: StageRole): string {
  return `the funnel in force names no ${role} stage (no stage has role: ${role}): the figures measured to it are empty`;
}
