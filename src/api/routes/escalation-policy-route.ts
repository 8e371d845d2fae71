import { versionedConfigRoute } from './versioned-config-route.ts';

/**
 * The escalation policy: `/v1/escalation-policy` (read, PUT a new version), `/validate`,
 * `/history`, `/versions/:version`, and `/v1/schemas/escalation-policy`; admin key only. Options:
 * `{ store: EscalationPolicyStore, adminKeys }`.
 */
export const escalationPolicyRoute = versionedConfigRoute({
  path: '/v1/escalation-policy',
  schemaPath: '/v1/schemas/escalation-policy',
  what: 'escalation policy',
  file: 'config/escalation.yaml',
  examplePath: 'criteria.stalls[1].after',
});
