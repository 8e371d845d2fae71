import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { findTemporalCli } from './binaries.ts';
import { devServerSearchAttributeArgs } from './search-attributes.ts';
import { spawnServer, waitUntil } from './server-process.ts';

export interface DevServerOptions {
  /** Holds the server's SQLite database (temporal.sqlite) and, by default, its log. */
  dataDir: string;
  host?: string;
  port?: number;
  /** Defaults to port + 1000, as the CLI does: 8233 for the default port. */
  uiPort?: number;
  namespace?: string;
  logFile?: string;
  /** Serves the server's Prometheus metrics at http://host:metricsPort/metrics (default: a random port the CLI picks). */
  metricsPort?: number;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  pid: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

/**
 * Runs the real Temporal server (`temporal server start-dev`) persisted in SQLite under dataDir,
 * resolving once it serves the namespace (the journeys' search attributes registered). WAL with
 * synchronous=normal more than doubles its throughput over SQLite's defaults and still survives
 * a crash of the server process.
 */
export async function startTemporalDevServer(opts: DevServerOptions): Promise<DevServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? port + 1000;
  const namespace = opts.namespace ?? 'default';
  const logFile = opts.logFile ?? join(opts.dataDir, 'temporal.log');
  const cli = findTemporalCli();
  if (!cli) {
    throw new Error('Temporal CLI not found: run `node scripts/setup.mjs`, put `temporal` on PATH or set TEMPORAL_CLI_PATH');
  }
  // A server already listening there would answer our readiness probe and pass for ours.
  for (const p of [port, uiPort, ...(opts.metricsPort !== undefined ? [opts.metricsPort] : [])]) await assertPortFree(host, p);
  mkdirSync(opts.dataDir, { recursive: true });

  const args = [
    'server',
    'start-dev',
    '--db-filename',
    join(opts.dataDir, 'temporal.sqlite'),
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    '--ip',
    host,
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
    ...(opts.metricsPort !== undefined ? ['--metrics-port', String(opts.metricsPort)] : []),
    ...devServerSearchAttributeArgs(),
  ];
  const server = spawnServer(cli, args, logFile);
  const address = hostPort(host, port);
  try {
    await waitUntil(server, { name: 'Temporal dev server', address, logFile, what: `serving namespace ${namespace}`, timeoutMs: READY_TIMEOUT_MS, intervalMs: 100 }, (connection) =>
      connection.workflowService.describeNamespace({ namespace }),
    );
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { address, uiUrl: `http://${hostPort(host, uiPort)}`, pid: server.child.pid!, stop: () => server.stop() };
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

async function assertPortFree(host: string, port: number): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new Error(`Temporal dev server: port ${host}:${port} is already in use`) : error));
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
