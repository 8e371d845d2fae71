import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/** A server process started by `startUntilHealthy`. */
export interface HealthyProcess {
  /** From the spawn to the first 200 from its health URL. */
  ms: number;
  pid: number;
  /** Its stdout and stderr so far. */
  output(): string;
  /** SIGTERM (the CLI's graceful shutdown), SIGKILL after 10 s; resolves once it is gone. */
  stop(): Promise<void>;
}

/**
 * Spawns `command` and polls `healthUrl` every 20 ms until it answers 200: what a container
 * runtime's health check waits for. Fails with the process's output if it exits first or is not
 * healthy within `timeoutMs`.
 */
export async function startUntilHealthy(
  command: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; healthUrl: string; timeoutMs?: number },
): Promise<HealthyProcess> {
  const started = performance.now();
  const child = spawn(command[0]!, command.slice(1), { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  let exit: string | undefined;
  const exited = once(child, 'exit').then(([code, signal]) => void (exit = `exited (${code ?? signal})`));
  const stop = async () => {
    if (exit) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
  const deadline = started + (options.timeoutMs ?? 60_000);
  for (;;) {
    const status = await fetch(options.healthUrl).then(
      (response) => response.status,
      () => undefined,
    );
    if (status === 200) return { ms: performance.now() - started, pid: child.pid!, output: () => output, stop };
    if (exit || performance.now() > deadline) {
      await stop();
      throw new Error(
        `${command.join(' ')} ${exit ?? 'not healthy in time'} (${options.healthUrl}: ${status ?? 'no answer'}):\n${output.trimEnd().split('\n').slice(-30).join('\n')}`,
      );
    }
    await sleep(20);
  }
}
