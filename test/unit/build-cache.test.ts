import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { inputsHash, keptBuild, keptBuildFile } from '../../src/build-cache.ts';

// Before any test points TMPDIR elsewhere.
const systemTmp = tmpdir();
const made: string[] = [];
const temporary = (prefix: string) => {
  const dir = mkdtempSync(join(systemTmp, prefix));
  made.push(dir);
  return dir;
};
const originalTmp = process.env.TMPDIR;
afterEach(() => {
  if (originalTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = originalTmp;
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A package tree with what a build is made from. */
function tree(): string {
  const root = temporary('onramp-build-inputs-');
  for (const [path, text] of Object.entries({
    'package-lock.json': '{"lockfileVersion":3}',
    'workflows/index.ts': "export * from './journey.ts';",
    'src/journey/journey-machine.ts': 'export const stages = 7;',
    'src/generated/prisma/client.ts': 'export {};',
    'docs/index.md': '# Onramp',
  })) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}
const INPUTS = ['workflows', 'src'];

describe('the name of a kept build', () => {
  it('changes with any input file, a new one, the dependencies and the package root', () => {
    const root = tree();
    const first = inputsHash(root, INPUTS);
    expect(inputsHash(root, INPUTS), 'the same files, the same name').toBe(first);
    const seen = new Set([first]);
    for (const [path, text] of [
      ['workflows/index.ts', "export * from './journey.ts'; // edited"],
      ['src/journey/journey-machine.ts', 'export const stages = 8;'],
      ['src/journey/new-module.ts', 'export {};'],
      ['package-lock.json', '{"lockfileVersion":3,"packages":{}}'],
    ] as const) {
      writeFileSync(join(root, path), text);
      const name = inputsHash(root, INPUTS);
      expect(seen.has(name), `after writing ${path}`).toBe(false);
      seen.add(name);
    }
    expect(seen.has(inputsHash(tree(), INPUTS)), 'another root with the first files').toBe(false);
  });

  it("ignores files outside the inputs and Prisma's generated client", () => {
    const root = tree();
    const before = inputsHash(root, INPUTS);
    writeFileSync(join(root, 'src/generated/prisma/client.ts'), 'export const regenerated = true;');
    writeFileSync(join(root, 'docs/index.md'), '# Onramp, edited');
    expect(inputsHash(root, INPUTS)).toBe(before);
  });
});

describe('a kept build', () => {
  const spec = (build: () => Promise<string>, onUnkept?: (error: unknown) => void) => ({
    kind: 'test-builds',
    inputs: ['test/unit/build-cache.test.ts'],
    build,
    ...(onUnkept ? { onUnkept } : {}),
  });

  it('is built once per process, written to the temporary folder, and read from there by a process that has not built it', async () => {
    process.env.TMPDIR = temporary('onramp-kept-a-');
    let builds = 0;
    const build = async () => `build ${++builds}`;
    expect((await keptBuild(spec(build))).toString()).toBe('build 1');
    expect((await keptBuild(spec(build))).toString(), 'the second call').toBe('build 1');
    const file = keptBuildFile(spec(build));
    expect(file.startsWith(process.env.TMPDIR)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('build 1');

    // Another temporary folder holding the same file stands for another process's view of it.
    const other = temporary('onramp-kept-b-');
    cpSync(process.env.TMPDIR, other, { recursive: true });
    process.env.TMPDIR = other;
    writeFileSync(keptBuildFile(spec(build)), 'kept earlier');
    expect((await keptBuild(spec(build))).toString()).toBe('kept earlier');
    expect(builds).toBe(1);
  });

  it('builds again after a failed build', async () => {
    process.env.TMPDIR = temporary('onramp-kept-c-');
    let calls = 0;
    const build = async () => {
      if (++calls === 1) throw new Error('webpack failed');
      return 'built';
    };
    await expect(keptBuild(spec(build))).rejects.toThrow('webpack failed');
    expect((await keptBuild(spec(build))).toString()).toBe('built');
  });

  it('is still returned when it cannot be kept, and says why', async () => {
    const blocker = join(temporary('onramp-kept-d-'), 'a-file');
    writeFileSync(blocker, '');
    // A folder cannot be made under a file, whoever runs the test.
    process.env.TMPDIR = join(blocker, 'tmp');
    const unkept: unknown[] = [];
    expect(
      (
        await keptBuild(
          spec(
            async () => 'built',
            (error) => unkept.push(error),
          ),
        )
      ).toString(),
    ).toBe('built');
    expect(unkept).toHaveLength(1);
    expect(existsSync(keptBuildFile(spec(async () => '')))).toBe(false);
  });
});
