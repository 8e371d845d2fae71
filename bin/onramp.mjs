#!/usr/bin/env node
// `onramp`. In a checkout (dev dependencies installed: tsx), the TypeScript sources through tsx, so
// an edit takes effect at once and a forgotten `npm run build` never runs stale code. In a
// production install (`npm run build`, then `npm ci --omit=dev`: no tsx), the compiled dist/.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const at = (path) => fileURLToPath(new URL(path, import.meta.url));
const tsx = at('../node_modules/tsx/dist/loader.mjs');
const compiled = at('../dist/onramp.js');

if (existsSync(tsx)) {
  // Node with tsx's loader, not the tsx CLI: the CLI's own signal relay gives up on a child that
  // does not answer within 30 ms (a busy machine) and exits by the signal, mid-shutdown.
  const child = spawn(process.execPath, ['--import', pathToFileURL(tsx).href, at('../src/cli/main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
  // A supervisor (systemd, a container runtime, `kill`) signals this process only: pass the signal
  // on, so that `onramp start` stops its servers instead of being orphaned with them.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
} else if (existsSync(compiled)) {
  // Source maps for the files loaded from here on: stack traces name the TypeScript sources.
  process.setSourceMapsEnabled(true);
  await import(compiled);
} else {
  console.error('onramp: neither tsx (`npm ci`, to run the sources) nor dist/onramp.js (`npm run build`) is installed');
  process.exit(1);
}
