import { defineConfig } from 'vitest/config';
import { PRODUCTION_TEMPORAL_SUITES } from './test/support/production-temporal-suites.ts';

/** The journey workflow bundle and a migrated PGlite cluster, built once per run for the projects with servers. */
const runArtifacts = 'test/support/run-artifacts.global-setup.ts';
/** The Temporal SDK's runtime, logging warnings and up, in every test process that starts a worker. */
const temporalLog = 'test/support/temporal-log.setup.ts';
/** `npm run test:production-temporal`: only the integration files that drive journeys through Temporal. */
const productionTemporal = process.env.ONRAMP_TEST_TEMPORAL === 'production';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Projects run one after another (unit first). Vitest's default is one worker less than the
    // cores, which is one here: the projects that can share the 2 cores say so.
    projects: [
      {
        extends: true,
        // Pure code: no servers, no Temporal binaries (only the generated Prisma client, which `npm run test:unit` brings). Files in parallel.
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        // The real workflow under the time-skipping test server (one per file). Two files at a time.
        test: { name: 'workflow', include: ['test/workflow/**/*.test.ts'], globalSetup: [runArtifacts], setupFiles: [temporalLog], maxWorkers: 2, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        // Real servers (Temporal, PGlite, PostgreSQL, the CLI as a child process), each file its own
        // (free ports, fresh databases): three files at a time, as they wait on servers and timers as
        // much as they compute (measured on 2 cores: 910 s one at a time, 464 s two, 384 s three).
        test: {
          name: 'integration',
          include: productionTemporal ? PRODUCTION_TEMPORAL_SUITES : ['test/integration/**/*.test.ts'],
          // A guard against hangs, not a speed limit: a test here may spawn the CLI a few times (each
          // `node --import tsx` costs 6–8 s of CPU on a busy core) or start a preview's sandbox
          // (20–30 s alone), and beside two other files on 2 cores 60 s was not always enough.
          testTimeout: 180_000,
          globalSetup: [runArtifacts],
          setupFiles: [temporalLog],
          maxWorkers: 3,
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        // Outages of Slack, SMTP and PostgreSQL under a running journey: one file at a time.
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          globalSetup: [runArtifacts],
          setupFiles: [temporalLog],
          fileParallelism: false,
          sequence: { groupOrder: 3 },
        },
      },
    ],
  },
});
