import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../../config.ts';
import type { JourneyReadModel } from '../../api/journey-schema.ts';
import { formatJourney } from '../format-journey.ts';

export interface JourneyCommandOptions {
  url?: string;
  key?: string;
  json?: boolean;
}

/** Prints one developer's journey, read through the HTTP API. */
export async function journeyCommand(config: Config, developerId: string, options: JourneyCommandOptions): Promise<number> {
  const base = options.url ?? `http://localhost:${config.PORT}`;
  const keyFile = join(resolve(config.ONRAMP_DATA_DIR), 'ingest-key');
  const key = options.key ?? config.ONRAMP_INGEST_KEY ?? (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : undefined);
  if (!key) {
    process.stderr.write('No key: pass --key, set ONRAMP_INGEST_KEY, or run from the directory whose .data holds the ingest key\n');
    return 2;
  }
  const response = await fetch(`${base}/v1/developers/${encodeURIComponent(developerId)}/journey`, { headers: { authorization: `Bearer ${key}` } });
  const body = await response.json();
  if (!response.ok) {
    process.stderr.write(`${response.status}: ${JSON.stringify(body)}\n`);
    return response.status === 404 ? 3 : 1;
  }
  process.stdout.write(options.json ? `${JSON.stringify(body, null, 2)}\n` : formatJourney(body as JourneyReadModel));
  return 0;
}
