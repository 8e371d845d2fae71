import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** `onramp …` as a user runs it: a child process (asynchronous: the API it talks to may run in the test's process). */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the CLI with the test's environment minus ONRAMP_* and PORT, plus `env` (ONRAMP_DATA_DIR in particular). */
export function runOnramp(args: string[], env: Record<string, string> = {}, input?: string): Promise<CliRun> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ONRAMP_') && name !== 'PORT'));
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { cwd: root, env: { ...base, ...env }, maxBuffer: 16 * 2 ** 20 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}
