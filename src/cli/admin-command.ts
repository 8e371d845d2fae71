import type { Command } from 'commander';
import { ApiClient, ApiError, resolveKey } from '../client/api-client.ts';
import { loadConfig } from '../config.ts';
import { adminKeyFile } from './admin-key.ts';
import { API_URL_HELP, apiBaseUrl } from './api-url.ts';

/**
 * What the commands over the HTTP API share: the API they call and its key. The admin commands
 * (`onramp keys`, `agents`, `audit`, `webhooks`) take the admin key; the agents' (`onramp handoffs`)
 * an agent key (personal or shared), or the admin key, which the handoff endpoints accept too.
 */

export interface AdminOptions {
  url?: string;
  key?: string;
}

type Role = 'admin' | 'agent';

function keyedClient(options: AdminOptions, role: Role): ApiClient {
  const config = loadConfig();
  const file = adminKeyFile(config.ONRAMP_DATA_DIR);
  const fromEnv = role === 'agent' ? (config.ONRAMP_AGENT_KEY ?? config.ONRAMP_ADMIN_KEY) : config.ONRAMP_ADMIN_KEY;
  const key = resolveKey(options.key, fromEnv, file);
  const variables = role === 'agent' ? 'ONRAMP_AGENT_KEY or ONRAMP_ADMIN_KEY' : 'ONRAMP_ADMIN_KEY';
  if (!key) throw new ApiError(`No ${role} key: pass --key, set ${variables}, or run where ${file} exists (onramp start writes it)`, 2);
  // One attempt: creating a key or a subscription twice after an ambiguous failure would leave a stray one.
  return new ApiClient(apiBaseUrl(config, options.url), key, { attempts: 1 });
}

/** Runs an admin action: API errors are printed and set the exit code (1; 2 without a key). */
export const admin = (options: AdminOptions, action: (api: ApiClient) => Promise<void>) => run(options, 'admin', action);

/** Runs a support agent's action, the same way, with the agent key (or the admin key). */
export const agent = (options: AdminOptions, action: (api: ApiClient) => Promise<void>) => run(options, 'agent', action);

async function run(options: AdminOptions, role: Role, action: (api: ApiClient) => Promise<void>): Promise<void> {
  try {
    await action(keyedClient(options, role));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exitCode = error.status === 2 ? 2 : 1;
  }
}

export const withApi = (command: Command) =>
  command.option('--url <url>', API_URL_HELP).option('--key <key>', 'admin key (default ONRAMP_ADMIN_KEY or $ONRAMP_DATA_DIR/admin-key)');

export const withAgentApi = (command: Command) =>
  command
    .option('--url <url>', API_URL_HELP)
    .option(
      '--key <key>',
      'your agent key (onramp agents create), the shared agent key or the admin key (default ONRAMP_AGENT_KEY, ONRAMP_ADMIN_KEY or $ONRAMP_DATA_DIR/admin-key)',
    );
