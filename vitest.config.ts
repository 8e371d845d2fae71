import { defineConfig } from 'vitest/config';
import { PRODUCTION_TEMPORAL_SUITES } from './test/support/production-temporal-suites.ts';

/** The journey workflow bundle, built once per run for the projects whose workers run it. */
const workflowBundle = 'test/support/workflow-bundle.global-setup.ts';
/** The Temporal SDK's runtime, logging warnings and up, in every test process that starts a worker. */
const temporalLog = 'test/support/temporal-log.setup.ts';
/** `npm run test:production-temporal`: only the integration files that drive journeys through Temporal. */
const productionTemporal = process.env.ONRAMP_TEST_TEMPORAL === 'production';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Projects run one after another (unit first): the server-backed ones share 2 cores badly.
    projects: [
      {
        extends: true,
        // Pure code: no servers, no Temporal binaries (only the generated Prisma client, which `npm run test:unit` brings). Files in parallel.
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        // The real workflow under the time-skipping test server (one per file).
        test: { name: 'workflow', include: ['test/workflow/**/*.test.ts'], globalSetup: [workflowBundle], setupFiles: [temporalLog], sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        // Real servers (Temporal, PGlite, PostgreSQL, the CLI as a child process): one file at a time.
        test: {
          name: 'integration',
          include: productionTemporal ? PRODUCTION_TEMPORAL_SUITES : ['test/integration/**/*.test.ts'],
          globalSetup: [workflowBundle],
          setupFiles: [temporalLog],
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        // Outages of Slack, SMTP and PostgreSQL under a running journey: one file at a time.
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          globalSetup: [workflowBundle],
          setupFiles: [temporalLog],
          fileParallelism: false,
          sequence: { groupOrder: 3 },
        },
      },
    ],
  },
});
