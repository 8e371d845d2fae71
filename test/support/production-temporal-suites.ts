/**
 * The integration files `npm run test:production-temporal` runs again on the production Temporal
 * server (ONRAMP_TEST_TEMPORAL=production): the ones whose OnrampHarness drives journeys through
 * Temporal. test/unit/production-temporal-suites.test.ts holds this list to the files: every file
 * that starts an OnrampHarness is either here or below with the reason it is not.
 */
export const PRODUCTION_TEMPORAL_SUITES = [
  'test/integration/agent-keys.test.ts',
  'test/integration/custom-funnel-downstream.test.ts',
  'test/integration/deletion-leaves-nothing.test.ts',
  'test/integration/developer-deletion.test.ts',
  'test/integration/funnel-change-end-to-end.test.ts',
  'test/integration/handoff-context.test.ts',
  'test/integration/handoff-inbox.test.ts',
  'test/integration/handoff-ownership.test.ts',
  'test/integration/handoff-frictions.test.ts',
  'test/integration/handoffs-api.test.ts',
  'test/integration/hostile-input.test.ts',
  'test/integration/import-api.test.ts',
  'test/integration/import-command.test.ts',
  'test/integration/ingest-order-independence.test.ts',
  'test/integration/journey-end-to-end.test.ts',
  'test/integration/journey-search-attributes.test.ts',
  'test/integration/nudges-api.test.ts',
  'test/integration/prometheus.test.ts',
  'test/integration/simulator-ground-truth.test.ts',
  'test/integration/webhooks-api.test.ts',
];

/** Files that start an OnrampHarness but whose assertions never pass through Temporal. */
export const HARNESS_SUITES_WITHOUT_TEMPORAL: Record<string, string> = {
  'test/integration/rules-api.test.ts': 'rule and policy versions: HTTP and the database only',
  'test/integration/rules-command.test.ts': 'the rules CLI against the HTTP API: the database only',
  'test/integration/cli-conventions.test.ts': "the CLI's errors, --json and API discovery against the HTTP API: no journey runs",
  'test/integration/openapi-fuzz.test.ts': 'HTTP validation under schemathesis: answers come before the outbox, whatever the Temporal server',
};
