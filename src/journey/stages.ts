/** The seven funnel stages, in funnel order (docs/concepts/funnel.md). */
export const STAGES = [
  'intent',
  'account_created',
  'credential_provisioned',
  'first_api_call',
  'first_integration_milestone',
  'active_integration',
  'production_deployment',
] as const;

export type Stage = string;

export function stageRank(stage: Stage): number {
  return (STAGES as readonly string[]).indexOf(stage);
}

export function isStage(value: string): value is Stage {
  return (STAGES as readonly string[]).includes(value);
}
