import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { packagePath } from './package-root.ts';

/**
 * What a process run on the sources builds from the package's own files and would build the same
 * way the next time: the journey workflows' webpack bundle, a PGlite cluster with the migrations
 * applied. Each is built once per process and kept in the temporary folder
 * (`$TMPDIR/onramp-<uid>/<kind>/`), named by a hash of every file it can be built from, so the
 * next process on the same sources reads it. An edit to any of those files changes the name: a
 * stale build is never used. Builds unused for a week are removed when a new one is written.
 */

export interface KeptBuild {
  /** What it keeps, one folder each: `workflow-bundles`. */
  kind: string;
  /** The files and folders (from the package root) it is built from; a folder named `generated` within them is skipped (Prisma's client, which no build here reads). */
  inputs: readonly string[];
  build: () => Promise<Uint8Array | string>;
  /** Told when the build could not be kept: the next process builds again, nothing worse. */
  onUnkept?: (error: unknown) => void;
}

const STALE_MS = 7 * 86_400_000;
const inProcess = new Map<string, Promise<Buffer>>();

/** The build, from this process's memory, the temporary folder or `build()`, in that order. */
export function keptBuild(spec: KeptBuild): Promise<Buffer> {
  const file = keptBuildFile(spec);
  let kept = inProcess.get(file);
  if (!kept) {
    kept = readOrBuild(file, spec);
    // A failed build is not remembered: the next call tries again.
    kept.catch(() => inProcess.delete(file));
    inProcess.set(file, kept);
  }
  return kept;
}

/** The file a build of the inputs as they are now is kept in. */
export const keptBuildFile = ({ kind, inputs }: Pick<KeptBuild, 'kind' | 'inputs'>): string =>
  join(tmpdir(), `onramp-${process.getuid?.() ?? 'user'}`, kind, inputsHash(packagePath(), inputs));

async function readOrBuild(file: string, { build, onUnkept }: KeptBuild): Promise<Buffer> {
  if (existsSync(file)) {
    const content = readFileSync(file);
    // Marked as used: pruning goes by the last use.
    utimesSync(file, new Date(), new Date());
    return content;
  }
  const built = await build();
  const content = typeof built === 'string' ? Buffer.from(built) : Buffer.from(built.buffer, built.byteOffset, built.byteLength);
  try {
    const dir = join(file, '..');
    mkdirSync(dir, { recursive: true });
    pruneUnused(dir);
    // Written aside, then renamed: a process starting beside this one never reads half a build.
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, content);
    renameSync(partial, file);
  } catch (error) {
    onUnkept?.(error);
  }
  return content;
}

/** A hash of the package root (builds may write its paths), package-lock.json (the dependencies' versions) and every input file, by path and content. */
export function inputsHash(root: string, inputs: readonly string[]): string {
  const hash = createHash('sha256').update(root);
  for (const path of ['package-lock.json', ...inputs]) {
    for (const file of filesAt(join(root, path))) hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 32);
}

function filesAt(path: string): string[] {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return [];
  if (!stat.isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => !(entry.isDirectory() && entry.name === 'generated'))
    .map((entry) => entry.name)
    .sort()
    .flatMap((name) => filesAt(join(path, name)));
}

function pruneUnused(dir: string): void {
  for (const name of readdirSync(dir)) {
    // Another process may prune the same file first.
    const stat = statSync(join(dir, name), { throwIfNoEntry: false });
    if (stat && Date.now() - stat.mtimeMs > STALE_MS) rmSync(join(dir, name), { force: true });
  }
}
