import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config.ts';

/**
 * Which API the CLI's commands call: --url, else ONRAMP_API_URL, else the `onramp start` running
 * on this data dir (it records its URL in `<data dir>/onramp.json`, so a random or changed PORT
 * is found rather than guessed), else http://localhost:$PORT.
 */

export const API_URL_HELP = 'API base URL (default ONRAMP_API_URL, else the running `onramp start` of $ONRAMP_DATA_DIR, else http://localhost:$PORT)';

interface RunningInstance {
  apiUrl: string;
  pid: number;
}

export function instanceFile(dataDir: string): string {
  return join(resolve(dataDir), 'onramp.json');
}

/** Records the running instance; the returned function removes the record again (if it is still this process's). */
export function recordRunningInstance(dataDir: string, apiUrl: string): () => void {
  const file = instanceFile(dataDir);
  mkdirSync(resolve(dataDir), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ apiUrl, pid: process.pid, startedAt: new Date().toISOString() } satisfies RunningInstance & { startedAt: string }, null, 2)}\n`);
  return () => {
    if (runningInstance(dataDir)?.pid === process.pid) rmSync(file, { force: true });
  };
}

/** The instance recorded in the data dir, unless the file is unreadable or its process is gone (a crash leaves the file behind). */
export function runningInstance(dataDir: string): RunningInstance | undefined {
  const file = instanceFile(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    const recorded = JSON.parse(readFileSync(file, 'utf8')) as Partial<RunningInstance>;
    if (typeof recorded.apiUrl !== 'string' || !Number.isInteger(recorded.pid)) return undefined;
    return alive(recorded.pid!) ? { apiUrl: recorded.apiUrl, pid: recorded.pid! } : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

export function apiBaseUrl(config: Config, explicit: string | undefined): string {
  const url = explicit ?? config.ONRAMP_API_URL ?? runningInstance(config.ONRAMP_DATA_DIR)?.apiUrl ?? `http://localhost:${config.PORT}`;
  return url.replace(/\/+$/, '');
}
