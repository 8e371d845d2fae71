import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../../config.ts';
import type { JourneyReadModel } from '../../api/journey-schema.ts';
import { unreachableMessage } from '../../client/api-client.ts';
import { apiBaseUrl } from '../api-url.ts';
import { CliFailure } from '../cli-failure.ts';
import { formatJourney } from '../format-journey.ts';

export interface JourneyCommandOptions {
  url?: string;
  key?: string;
  json?: boolean;
}

/** Prints one developer's journey, read through the HTTP API. Exit 0; 1 an API error; 2 no key; 3 no such developer. */
export async function journeyCommand(config: Config, developerId: string, options: JourneyCommandOptions): Promise<number> {
  const base = apiBaseUrl(config, options.url);
  const keyFile = join(resolve(config.ONRAMP_DATA_DIR), 'ingest-key');
  const key = options.key ?? config.ONRAMP_INGEST_KEY ?? (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : undefined);
  if (!key) throw new CliFailure('No key: pass --key, set ONRAMP_INGEST_KEY, or run from the directory whose .data holds the ingest key', 2);
  let response: Response;
  try {
    response = await fetch(`${base}/v1/developers/${encodeURIComponent(developerId)}/journey`, { headers: { authorization: `Bearer ${key}` } });
  } catch (error) {
    throw new CliFailure(unreachableMessage(base, error), 1);
  }
  const text = await response.text();
  if (!response.ok) throw new CliFailure(`${response.status}: ${text.slice(0, 500)}`, response.status === 404 ? 3 : 1);
  const body = JSON.parse(text) as JourneyReadModel;
  process.stdout.write(options.json ? `${JSON.stringify(body, null, 2)}\n` : formatJourney(body));
  return 0;
}
