import { API_REQUEST, type FunnelDocument } from './funnel-schema.ts';

/** The stages whose evidence uses each event type, in funnel order; a `request:` condition uses api.request. */
export function stagesByEventType(funnel: FunnelDocument): Map<string, string[]> {
  const stages = new Map<string, string[]>();
  for (const stage of funnel.stages) {
    const types = new Set(stage.evidence.map((evidence) => ('event' in evidence ? evidence.event : API_REQUEST)));
    for (const type of types) stages.set(type, [...(stages.get(type) ?? []), stage.id]);
  }
  return stages;
}
