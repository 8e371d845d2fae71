import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Environment variables a process inherits and Onramp only passes on (never configured by it). */
const INHERITED = new Set(['PATH']);

const SOURCE = /\.(ts|mts|js|mjs)$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'generated' || name === 'fixtures') return [];
    return statSync(path).isDirectory() ? sourceFiles(path) : SOURCE.test(name) ? [path] : [];
  });
}

/**
 * The environment variables source code reads: `process.env.<name>` and `process.env['<name>']`,
 * the keys of the config schema (`<name>: z…` in src/config.ts), and, in a file that reads the
 * environment by a computed name (`process.env[…]` with a variable), its SCREAMING_SNAKE string literals
 * (the names it passes to the lookup). Returns each name with a file that reads it.
 */
export function envReads(dirs: string[]): Map<string, string> {
  const found = new Map<string, string>();
  const add = (name: string, file: string) => {
    if (!INHERITED.has(name) && !found.has(name)) found.set(name, file);
  };
  for (const file of dirs.flatMap((dir) => (statSync(dir).isDirectory() ? sourceFiles(dir) : [dir]))) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/process\.env(?:\.([A-Z][A-Z0-9_]*)|\[\s*['"`]([A-Z][A-Z0-9_]*)['"`]\s*\])/g)) add((match[1] ?? match[2])!, file);
    if (/process\.env\[\s*[a-zA-Z_$][\w$]*\s*\]/.test(text)) {
      for (const match of text.matchAll(/['"`]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)['"`]/g)) add(match[1]!, file);
    }
    if (file.endsWith(join('src', 'config.ts'))) {
      for (const match of text.matchAll(/^\s+([A-Z][A-Z0-9_]*):\s*z\b/gm)) add(match[1]!, file);
    }
  }
  return found;
}
