#!/usr/bin/env node
// Installs Prisma 6's CLI into .tools/prisma6 (gitignored), outside the project's dependencies.
// Prisma 7's migrate commands need a native schema engine that cannot be downloaded here;
// Prisma 6.19.3 can run its schema engine as WASM over @prisma/adapter-pg instead, which is how
// prisma/migrations is written (`migrate diff`) and how tests compare a database with
// schema.prisma. Idempotent: once the pinned versions are installed it only rewrites the files it
// generates when they changed, which takes milliseconds.
//
// Use: node scripts/setup-prisma6.mjs
//      DATABASE_URL=postgresql://… node .tools/prisma6/prisma6.mjs migrate diff …

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const toolDir = join(dirname(fileURLToPath(import.meta.url)), '..', '.tools', 'prisma6');

const dependencies = {
  prisma: '6.19.3',
  '@prisma/adapter-pg': '7.10.1',
  pg: '8.23.1',
};

const packageJson = `${JSON.stringify({ name: 'onramp-prisma6', private: true, type: 'module', dependencies }, null, 2)}\n`;

const prismaConfig = `// Written by scripts/setup-prisma6.mjs: edit that file instead.
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

// Two fixes to what the schema engine and the database say to each other:
// - it reads catalog columns of type "char" (oid 18), which the adapter cannot decode (like name
//   in prisma/orm#27403, which adapter-pg 7 does decode): hand them over labelled as text (25);
// - PostgreSQL 18 (PGlite 0.5) lists NOT NULL constraints in pg_constraint as contype 'n', which
//   makes the engine panic while introspecting (prisma/orm#29635): leave them out, as before 18.
const constraintDenylist = "contype NOT IN ('p', 'u', 'f')";
const rewrite = (sql) => sql.replace(constraintDenylist, "contype NOT IN ('p', 'u', 'f', 'n')");

const relabel = (result) => {
  for (const field of result?.fields ?? []) {
    if (field.dataTypeID === 18) field.dataTypeID = 25;
  }
  return result;
};

class CompatibleClient extends pg.Client {
  query(...args) {
    const [query] = args;
    if (typeof query === 'string') args[0] = rewrite(query);
    else if (typeof query?.text === 'string') query.text = rewrite(query.text);
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (error, result) => callback(error, error ? result : relabel(result));
      return super.query(...args);
    }
    const result = super.query(...args);
    return typeof result?.then === 'function' ? result.then(relabel) : result;
  }
}

export default defineConfig({
  engine: 'js',
  experimental: { adapter: true },
  // One connection, as PGlite's socket server accepts one at a time; allowExitOnIdle lets the
  // CLI exit as soon as it is done instead of after pg's 10 s idle timeout.
  adapter: async () =>
    new PrismaPg(
      new pg.Pool({
        connectionString: process.env.DATABASE_URL,
        max: 1,
        allowExitOnIdle: true,
        Client: CompatibleClient,
      }),
    ),
});
`;

const wrapper = `#!/usr/bin/env node
// Written by scripts/setup-prisma6.mjs: edit that file instead.
// Runs Prisma 6's CLI with the WASM schema engine against DATABASE_URL (which it always needs,
// even for --from-empty). Prisma 6 insists on a datasource url that Prisma 7 forbids, so schema
// files given as --schema / --{from,to}-schema-datamodel are passed as copies that have one.
// With an adapter Prisma 6 refuses --from-url and --*-schema-datasource: \`db pull --print\`
// then \`migrate diff --from-schema-datamodel\` compares a database with a schema instead.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const schemaFlags = new Set(['--schema', '--from-schema-datamodel', '--to-schema-datamodel']);
const scratch = mkdtempSync(join(tmpdir(), 'prisma6-'));

let copies = 0;
const withUrl = (path) => {
  const text = readFileSync(path, 'utf8');
  if (/^\\s*url\\s*=/m.test(text)) return path;
  const copy = join(scratch, \`\${copies++}.prisma\`);
  writeFileSync(copy, text.replace(/datasource\\s+\\w+\\s*\\{/, '$&\\n  url = env("DATABASE_URL")'));
  return copy;
};

const argv = process.argv.slice(2);
const args = argv.map((arg, i) => (schemaFlags.has(argv[i - 1]) ? withUrl(arg) : arg));

// The engine paths only have to name an existing file: nothing is downloaded or executed.
const result = spawnSync(
  process.execPath,
  [join(here, 'node_modules/prisma/build/index.js'), ...args, '--config', join(here, 'prisma.config.mjs')],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      PRISMA_QUERY_ENGINE_LIBRARY: process.execPath,
      PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
      CHECKPOINT_DISABLE: '1',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
    },
  },
);
rmSync(scratch, { recursive: true, force: true });
if (result.error) throw result.error;
process.exit(result.status ?? 1);
`;

function writeIfChanged(path, content) {
  if (existsSync(path) && readFileSync(path, 'utf8') === content) return;
  writeFileSync(path, content);
}

function installedVersion(name) {
  try {
    return JSON.parse(readFileSync(join(toolDir, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

mkdirSync(toolDir, { recursive: true });
writeIfChanged(join(toolDir, 'package.json'), packageJson);
writeIfChanged(join(toolDir, 'prisma.config.mjs'), prismaConfig);
writeIfChanged(join(toolDir, 'prisma6.mjs'), wrapper);

if (Object.entries(dependencies).some(([name, version]) => installedVersion(name) !== version)) {
  console.log(`Installing Prisma ${dependencies.prisma} into ${toolDir} …`);
  // Scripts stay off: Prisma's postinstall would try to download native engines.
  const npm = spawnSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'], {
    cwd: toolDir,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
  if (npm.error) throw npm.error;
  if (npm.status !== 0) process.exit(npm.status ?? 1);
}
