import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { findTemporalCli } from './binaries.ts';

export interface DevServerOptions {
  /** Holds the server's SQLite database (temporal.sqlite) and, by default, its log. */
  dataDir: string;
  host?: string;
  port?: number;
  /** Defaults to port + 1000, as the CLI does: 8233 for the default port. */
  uiPort?: number;
  namespace?: string;
  logFile?: string;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  pid: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
// setpriv (util-linux, on every Debian) makes the kernel kill the server when this process dies,
// even by SIGKILL, where no 'exit' handler runs. The kernel ties it to the spawning thread: a server
// started from a worker thread goes when that thread ends.
const SETPRIV = '/usr/bin/setpriv';

/**
 * Runs the real Temporal server (`temporal server start-dev`) persisted in SQLite under dataDir,
 * resolving once it serves the namespace. WAL with synchronous=normal more than doubles its
 * throughput over SQLite's defaults and still survives a crash of the server process.
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
  for (const p of [port, uiPort]) await assertPortFree(host, p);
  mkdirSync(opts.dataDir, { recursive: true });

  const args = [
    'server', 'start-dev',
    '--db-filename', join(opts.dataDir, 'temporal.sqlite'),
    '--sqlite-pragma', 'journal_mode=wal',
    '--sqlite-pragma', 'synchronous=normal',
    '--ip', host,
    '--port', String(port),
    '--ui-port', String(uiPort),
    '--namespace', namespace,
    '--log-level', 'warn',
  ];
  const log = openSync(logFile, 'a');
  const [command, commandArgs] =
    process.platform === 'linux' && existsSync(SETPRIV)
      ? [SETPRIV, ['--pdeathsig', 'KILL', '--', cli, ...args]]
      : [cli, args];
  const child = spawn(command, commandArgs, { stdio: ['ignore', log, log] });
  closeSync(log);
  const server: Server = { child, ended: undefined };
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      server.ended = `exited (${code ?? signal})`;
      resolve();
    });
    child.once('error', (error) => {
      server.ended = `failed to start (${error.message})`;
      resolve();
    });
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    await terminate(server, exited);
  };

  const address = hostPort(host, port);
  try {
    await waitUntilServing(address, namespace, server, logFile);
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, uiUrl: `http://${hostPort(host, uiPort)}`, pid: child.pid!, stop };
}

interface Server {
  child: ChildProcess;
  /** Why the process is gone, once it is. */
  ended: string | undefined;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

async function assertPortFree(host: string, port: number): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`Temporal dev server: port ${host}:${port} is already in use`) : error),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

async function waitUntilServing(address: string, namespace: string, server: Server, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (server.ended) throw new Error(`Temporal dev server ${server.ended} before serving:\n${tail(logFile)}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await sleep(100);
    }
  }
  throw new Error(
    `Temporal dev server not serving namespace ${namespace} at ${address} after ${READY_TIMEOUT_MS / 1000} s ` +
      `(last error: ${lastError instanceof Error ? lastError.message : String(lastError)}):\n${tail(logFile)}`,
  );
}

async function terminate({ child, ended }: Server, exited: Promise<void>): Promise<void> {
  if (ended) return;
  child.kill('SIGTERM');
  // Unreferenced, so a prompt exit leaves no 10 s timer holding the event loop open.
  const timeout = sleep(STOP_GRACE_MS, false, { ref: false });
  if (!(await Promise.race([exited.then(() => true), timeout]))) {
    child.kill('SIGKILL');
    await exited;
  }
}

/** The log's last lines; for a Go panic, its message rather than the goroutine dump after it. */
function tail(logFile: string, lines = 30): string {
  try {
    const all = readFileSync(logFile, 'utf8').trimEnd().split('\n');
    const panic = all.findLastIndex((line) => line.startsWith('panic:') || /level=(error|fatal)|"level":"(error|fatal)"/.test(line));
    return (panic >= 0 ? all.slice(Math.max(0, panic - 5), panic + 10) : all.slice(-lines)).join('\n');
  } catch {
    return '(no log)';
  }
}
