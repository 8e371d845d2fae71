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

/** The stage ids in funnel order. */
export function stageIds(document: FunnelDocument): string[] {
  return document.stages.map((stage) => stage.id);
}

/** The stage a metric measures to (`first_call`, `production`), if the funnel names one. */
export function stageWithRole(document: FunnelDocument, role: 'first_call' | 'production'): string | undefined {
  return document.stages.find((stage) => stage.role === role)?.id;
}

/** How people see a stage: its label, or its id. */
export function stageLabel(document: FunnelDocument, id: string): string {
  return document.stages.find((stage) => stage.id === id)?.label ?? id;
}
