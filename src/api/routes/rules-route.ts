import { versionedConfigRoute, type VersionedConfigRouteOptions } from './versioned-config-route.ts';

export type RulesRouteOptions = VersionedConfigRouteOptions;

/** Nudge rules: `/v1/rules` (read, PUT a new version), `/validate`, `/history`, `/versions/:version`, and `/v1/schemas/rules`; admin key only. */
export const rulesRoute = versionedConfigRoute({
  path: '/v1/rules',
  schemaPath: '/v1/schemas/rules',
  what: 'nudge rules',
  file: 'config/rules.yaml',
  examplePath: 'rules[2].when.after',
});
