import type { Command } from 'commander';
import { ApiClient, ApiError, resolveKey } from '../client/api-client.ts';
import { loadConfig } from '../config.ts';
import { adminKeyFile } from './admin-key.ts';

/** What the admin commands (`onramp keys`, `audit`, `webhooks`) share: the API they call and its key. */

export interface AdminOptions {
  url?: string;
  key?: string;
}

function adminClient(options: AdminOptions): ApiClient {
  const config = loadConfig();
  const key = resolveKey(options.key, config.ONRAMP_ADMIN_KEY, adminKeyFile(config.ONRAMP_DATA_DIR));
  if (!key) throw new ApiError(`No admin key: pass --key, set ONRAMP_ADMIN_KEY, or run where ${adminKeyFile(config.ONRAMP_DATA_DIR)} exists (onramp start writes it)`, 2);
  // One attempt: creating a key or a subscription twice after an ambiguous failure would leave a stray one.
  return new ApiClient(options.url ?? `http://localhost:${config.PORT}`, key, { attempts: 1 });
}

/** Runs an admin action: API errors are printed and set the exit code (1; 2 without a key). */
export async function admin(options: AdminOptions, action: (api: ApiClient) => Promise<void>): Promise<void> {
  try {
    await action(adminClient(options));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exitCode = error.status === 2 ? 2 : 1;
  }
}

export const withApi = (command: Command) =>
  command.option('--url <url>', 'API base URL (default http://localhost:$PORT)').option('--key <key>', 'admin key (default ONRAMP_ADMIN_KEY or $ONRAMP_DATA_DIR/admin-key)');
