import type { Config } from '../../config.ts';
import { applyMigrations } from '../../db/migrate.ts';
import { openDatabase } from '../../db/database.ts';
import { createLogger } from '../../logger.ts';
import { onShutdownSignal, startWorkerService } from '../services.ts';
import { requireProduction } from './require-production.ts';

/** The journey worker, against TEMPORAL_ADDRESS and DATABASE_URL. */
export async function workerCommand(config: Config): Promise<void> {
  const { databaseUrl, temporalAddress } = requireProduction(config, { ingestKey: false });
  const logger = createLogger(config.LOG_LEVEL);
  await applyMigrations(databaseUrl, { log: (msg) => logger.info(msg) });
  const db = openDatabase(databaseUrl);
  const worker = await startWorkerService({
    db,
    temporalAddress,
    logger,
    config,
  });
  logger.info({ temporalAddress }, 'worker running');
  onShutdownSignal(async () => {
    await worker.stop();
    await db.close();
  });
}
