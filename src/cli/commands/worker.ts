import { publicUrlWarning, type Config } from '../../config.ts';
import { applyMigrations } from '../../db/migrate.ts';
import { openDatabase } from '../../db/database.ts';
import { processLogger } from '../../logger.ts';
import { serveProcessMetrics } from '../../metrics/serve-process-metrics.ts';
import { onShutdownSignal, startWorkerService } from '../services.ts';
import { requireProduction } from './require-production.ts';

/** The journey worker, against TEMPORAL_ADDRESS and DATABASE_URL. */
export async function workerCommand(config: Config): Promise<void> {
  const { databaseUrl, temporalAddress } = requireProduction(config, { ingestKey: false });
  const logger = processLogger(config);
  const unreachableLinks = publicUrlWarning(config);
  if (unreachableLinks) logger.warn(unreachableLinks);
  await applyMigrations(databaseUrl, { log: (msg) => logger.info(msg) });
  const db = openDatabase(databaseUrl, { max: config.ONRAMP_DATABASE_CONNECTIONS });
  const worker = await startWorkerService({ config, db, temporalAddress, logger });
  logger.info({ temporalAddress }, 'worker running');
  const metrics = config.ONRAMP_WORKER_METRICS_PORT ? await serveProcessMetrics(config.HOST, config.ONRAMP_WORKER_METRICS_PORT, () => worker.state()) : undefined;
  if (metrics) logger.info({ url: metrics.url }, 'worker metrics');
  onShutdownSignal(async () => {
    await metrics?.stop();
    await worker.stop();
    await db.close();
  });
}
