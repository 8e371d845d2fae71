/**
 * A test oracle: the funnel's stage definitions (docs/concepts/funnel.md) computed directly from a whole set of events, the
 * slow obvious way (all pairs for active integration), to check what ingest + journey derive
 * incrementally in any arrival order.
 */
export interface OracleEvent {
  id: string;
  type: string;
  occurredAt: string;
  properties?: Record<string, unknown>;
}

type Proof = { at: number; id: string };
const earlier = (a: Proof | undefined, b: Proof) => (!a || b.at < a.at || (b.at === a.at && b.id < a.id) ? b : a);
const DAY = 24 * 3600 * 1000;

export function expectedStages(events: OracleEvent[]): Record<string, { at: string; causeEventId: string }> {
  const best: Record<string, Proof | undefined> = {};
  const prove = (stage: string, proof: Proof) => (best[stage] = earlier(best[stage], proof));
  const ok = events.filter((e) => e.type === 'api.request' && (e.properties!.status as number) >= 200 && (e.properties!.status as number) <= 299);
  for (const e of events) {
    const proof = { at: Date.parse(e.occurredAt), id: e.id };
    if (e.type === 'docs.viewed') prove('intent', proof);
    if (e.type === 'developer.signed_up') prove('account_created', proof);
    if (e.type === 'api_key.created') prove('credential_provisioned', proof);
    if (e.type === 'quickstart.completed') prove('first_integration_milestone', proof);
    if (e.type === 'webhook.registered' && e.properties!.mode === 'live') prove('production_deployment', proof);
  }
  for (const r of ok) {
    const proof = { at: Date.parse(r.occurredAt), id: r.id };
    prove('first_api_call', proof);
    if (r.properties!.mode === 'live') prove('production_deployment', proof);
    for (const other of ok) {
      const a = Date.parse(other.occurredAt);
      // The pair (other, r) proves active integration at r when other is no later, within 24 h.
      if (other.properties!.endpoint !== r.properties!.endpoint && a <= proof.at && proof.at - a <= DAY) prove('active_integration', proof);
    }
  }
  return Object.fromEntries(
    Object.entries(best)
      .filter((entry): entry is [string, Proof] => entry[1] !== undefined)
      .map(([stage, p]) => [stage, { at: new Date(p.at).toISOString(), causeEventId: p.id }]),
  );
}
