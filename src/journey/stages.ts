/**
 * A stage is an id of the funnel in force (config/funnel.yaml, then its stored versions): the
 * journey knows the stage list of the funnel version it follows (JourneyFunnel).
 */
export type Stage = string;

/** The stage list of one funnel version, as a journey carries it (no evidence rules: ingest evaluates those). */
export interface JourneyFunnel {
  version: number;
  stages: readonly Stage[];
}

/**
 * The seven stages Onramp shipped before the funnel was a document, in funnel order: the stages
 * of journeys whose history predates it (they derive stages from the events themselves until
 * their first `stage.proved`). The shipped config/funnel.yaml has the same stages.
 */
export const SHIPPED_STAGES = [
  'intent',
  'account_created',
  'credential_provisioned',
  'first_api_call',
  'first_integration_milestone',
  'active_integration',
  'production_deployment',
] as const;

/** A journey that has not heard of any funnel version yet (started after versions, before its first stage). */
export const NO_FUNNEL_YET: JourneyFunnel = { version: 0, stages: [] };

/** The position of `stage` in `stages` (-1 when absent). */
export function stageRank(stages: readonly Stage[], stage: Stage): number {
  return stages.indexOf(stage);
}
