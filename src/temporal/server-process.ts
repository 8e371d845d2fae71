import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';

/** A Temporal server (the dev server, the production one) run as a child process, for this process's lifetime at most. */
export interface ServerProcess {
  child: ChildProcess;
  /** Why the process is gone, once it is. */
  ended: string | undefined;
  /** SIGTERM, SIGKILL after the grace period; resolves once it has exited. */
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 10_000;
// setpriv (util-linux, on every Debian) makes the kernel kill the server when this process dies,
// even by SIGKILL, where no 'exit' handler runs. The kernel ties it to the spawning thread: a server
// started from a worker thread goes when that thread ends.
const SETPRIV = '/usr/bin/setpriv';

/** Starts `binary` with `args`, its output appended to `logFile`. */
export function spawnServer(binary: string, args: string[], logFile: string): ServerProcess {
  const log = openSync(logFile, 'a');
  const [command, commandArgs] = process.platform === 'linux' && existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', '--', binary, ...args]] : [binary, args];
  const child = spawn(command, commandArgs, { stdio: ['ignore', log, log] });
  closeSync(log);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const server: ServerProcess = {
    child,
    ended: undefined,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (server.ended) return;
      child.kill('SIGTERM');
      // Unreferenced, so a prompt exit leaves no 10 s timer holding the event loop open.
      const timeout = sleep(STOP_GRACE_MS, false, { ref: false });
      if (!(await Promise.race([exited.then(() => true), timeout]))) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => ((server.ended = `exited (${code ?? signal})`), resolve()));
    child.once('error', (error) => ((server.ended = `failed to start (${error.message})`), resolve()));
  });
  return server;
}

export interface WaitOptions {
  /** The server, as errors name it ("Temporal dev server"). */
  name: string;
  address: string;
  logFile: string;
  /** What is awaited, as errors say it ("serving namespace default"). */
  what: string;
  timeoutMs: number;
  intervalMs: number;
}

/** Retries `attempt` on a fresh connection until it succeeds; fails at once, with the log, when the server has ended. */
export async function waitUntil(server: ServerProcess, options: WaitOptions, attempt: (connection: Connection) => Promise<unknown>): Promise<void> {
  const { name, address, logFile, what } = options;
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (server.ended) throw new Error(`${name} ${server.ended} before ${what}:\n${logTail(logFile)}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await attempt(connection);
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await sleep(options.intervalMs);
    }
  }
  throw new Error(
    `${name} at ${address} not ${what} after ${options.timeoutMs / 1000} s ` +
      `(last error: ${lastError instanceof Error ? lastError.message : String(lastError)}):\n${logTail(logFile)}`,
  );
}

/** The log's last lines; for a Go panic or an error, the lines around it, without the stack traces its JSON lines carry. */
export function logTail(logFile: string, lines = 30): string {
  try {
    const all = readFileSync(logFile, 'utf8').trimEnd().split('\n');
    const panic = all.findLastIndex((line) => line.startsWith('panic:') || /"level":"(error|fatal)"|level=(error|fatal)/.test(line));
    return (panic >= 0 ? all.slice(Math.max(0, panic - 5), panic + 10) : all.slice(-lines)).map((line) => line.replace(/,"stacktrace":".*$/, '}').slice(0, 1_000)).join('\n');
  } catch {
    return '(no log)';
  }
}
