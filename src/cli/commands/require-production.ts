import { ConfigError, type Config } from '../../config.ts';

/** `api` and `worker` run against real services: no embedded fallback there. */
export function requireProduction(config: Config, needs: { ingestKey: boolean }) {
  const missing = [
    ...(config.DATABASE_URL ? [] : ['DATABASE_URL']),
    ...(config.TEMPORAL_ADDRESS ? [] : ['TEMPORAL_ADDRESS']),
    ...(needs.ingestKey && !config.ONRAMP_INGEST_KEY ? ['ONRAMP_INGEST_KEY'] : []),
  ];
  if (missing.length > 0) throw new ConfigError(`Missing environment: ${missing.join(', ')} (use \`onramp start\` for the embedded defaults)`);
  return { databaseUrl: config.DATABASE_URL!, temporalAddress: config.TEMPORAL_ADDRESS!, ingestKey: config.ONRAMP_INGEST_KEY };
}
