import { resolve } from 'node:path';
import { ensureDocumentsInForce, templatesFolderWarning } from '../config-files.ts';
import type { Config } from '../../config.ts';
import { startEmbeddedPostgres } from '../../db/embedded-postgres.ts';
import { applyMigrations } from '../../db/migrate.ts';
import { openDatabase } from '../../db/database.ts';
import { processLogger } from '../../logger.ts';
import { startTemporalDevServer } from '../../temporal/dev-server.ts';
import { embeddedAdminKey } from '../admin-key.ts';
import { recordRunningInstance } from '../api-url.ts';
import { embeddedIngestKey } from '../ingest-key.ts';
import { adminKeyLocation, startBanner } from '../start-banner.ts';
import { DEFAULT_ERROR_RATES } from '../../simulator/personas.ts';
import { formatSummary, runSimulation } from './simulate.ts';
import { onShutdownSignal, startApiService, startWorkerService, type Stoppable } from '../services.ts';

/**
 * Everything in one process on embedded defaults: the Temporal dev server (SQLite under the data
 * dir) unless TEMPORAL_ADDRESS is set, PGlite unless DATABASE_URL is set, migrations, the worker
 * and the API, whose URL it records in the data dir (onramp.json) for the CLI. Stops in reverse
 * order on Ctrl-C / SIGTERM.
 */
export async function startCommand(config: Config, options: { demo?: boolean } = {}): Promise<void> {
  const logger = processLogger(config);
  const dataDir = resolve(config.ONRAMP_DATA_DIR);
  const started: Stoppable[] = [];
  const stopAll = async () => {
    for (const service of started.reverse()) await service.stop();
  };
  onShutdownSignal(stopAll);
  try {
    let temporalAddress = config.TEMPORAL_ADDRESS;
    let temporalUi: string | undefined;
    if (!temporalAddress) {
      const server = await startTemporalDevServer({
        dataDir: resolve(dataDir, 'temporal'),
        port: config.ONRAMP_TEMPORAL_PORT,
        uiPort: config.ONRAMP_TEMPORAL_UI_PORT,
        namespace: config.TEMPORAL_NAMESPACE,
      });
      started.push(server);
      temporalAddress = server.address;
      temporalUi = server.uiUrl;
    }

    let databaseUrl = config.DATABASE_URL;
    let maxConnections = config.ONRAMP_DATABASE_CONNECTIONS;
    if (!databaseUrl) {
      const postgres = await startEmbeddedPostgres({ dataDir: resolve(dataDir, 'pglite') });
      started.push(postgres);
      databaseUrl = postgres.url;
      maxConnections = 1; // PGlite serves one connection at a time
    }
    const { applied } = await applyMigrations(databaseUrl);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    const db = openDatabase(databaseUrl, { max: maxConnections });
    started.push({ stop: () => db.close() });
    const { funnel, rules, policy, alerts, templates, templatesFolderDiffers } = await ensureDocumentsInForce(db.pool, config);
    if (templatesFolderDiffers) logger.warn(templatesFolderWarning(config, templates.version));

    const ingestKey = config.ONRAMP_INGEST_KEY ?? embeddedIngestKey(dataDir);
    const adminKey = config.ONRAMP_ADMIN_KEY ?? embeddedAdminKey(dataDir);
    started.push(await startWorkerService({ config, db, temporalAddress, logger }));
    const api = await startApiService({ config, db, temporalAddress, logger, ingestKeys: [ingestKey], adminKeys: [adminKey] });
    started.push(api);
    // The CLI's other commands find this API here (its port may be random: PORT=0), not by guessing.
    const forget = recordRunningInstance(dataDir, api.url);
    started.push({ stop: async () => forget() });

    process.stdout.write(
      startBanner({ config, dataDir, apiUrl: api.url, temporalAddress, temporalUi, ingestKey, funnel, rules, policy, alerts, templates, tty: process.stdout.isTTY === true }),
    );
    if (options.demo) void runDemo(api.url, ingestKey, adminKey, adminKeyLocation(config, dataDir));
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}

/** DEMO_DEVELOPERS synthetic developers over the last DEMO_DAYS days, fed through the API; reactions followed for two minutes. */
const DEMO_DEVELOPERS = 400;
const DEMO_DAYS = 45;

/**
 * `--demo`: a synthetic cohort whose history ends now, so the funnel, the nudges due and the
 * escalations fill the dashboard at once instead of over weeks (the journeys decide on the
 * backdated history with the real clock), then opens and clicks answer the emails sent.
 */
async function runDemo(url: string, ingestKey: string, adminKey: string, adminKeyAt: string): Promise<void> {
  process.stdout.write(`Demo: ${DEMO_DEVELOPERS} synthetic developers over the last ${DEMO_DAYS} days → ${url}/dashboard (key: the admin key, in ${adminKeyAt})\n`);
  try {
    const result = await runSimulation({
      url,
      ingestKey,
      adminKey,
      developers: DEMO_DEVELOPERS,
      days: DEMO_DAYS,
      seed: 1,
      until: new Date(),
      errorRates: DEFAULT_ERROR_RATES,
      lateShare: 0.05,
      duplicateShare: 0.02,
      followEmails: 120,
    });
    process.stdout.write(`${formatSummary(result)}\nDemo done: ${url}/dashboard\n`);
  } catch (error) {
    process.stderr.write(`Demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}
