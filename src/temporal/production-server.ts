import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Connection } from '@temporalio/client';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import { findTemporalCli } from './binaries.ts';
import { freePort } from './free-port.ts';
import { registerSearchAttributes } from './search-attributes.ts';
import { spawnServer, waitUntil as waitUntilServer, type ServerProcess } from './server-process.ts';
import { packagePath } from '../package-root.ts';

/**
 * The production Temporal server (`go.temporal.io/server` v1.29.1, the version docker-compose.yml's
 * `temporalio/auto-setup` runs) with PostgreSQL persistence, started as a plain process: what
 * auto-setup does in the container, done here. `node scripts/setup.mjs --test` builds it into
 * .tools/go with temporal-sql-tool (`sql`), the module's PostgreSQL schema and its config
 * template. It creates the namespace and registers the journeys' search attributes on it, as an
 * operator does once (docs/guides/platform-engineer.md). Used by test/support/production-topology.ts.
 */
export interface ProductionTemporalOptions {
  /** A PostgreSQL role that may create databases. */
  postgres: { host: string; port: number; user: string; password: string };
  /** Temporal's databases are `<prefix>_temporal` and `<prefix>_visibility`. */
  databasePrefix: string;
  /** The frontend's gRPC port; default: a free one. The other services' ports are always free ones. */
  port?: number;
  /** Holds the generated config (DIR/config) and the server's log (DIR/temporal-server.log). */
  dir: string;
  /** Where setup put the binaries, schema and template; default: the repository's .tools/go. */
  toolsDir?: string;
  namespace?: string;
  /**
   * How many connections the server's main store may hold open (the template's 20 by default).
   * Several servers on one PostgreSQL (test files side by side) take fewer, or together they reach
   * its `max_connections` (100 by default) and every client gets "too many clients".
   */
  maxConnections?: number;
}

export interface ProductionTemporal {
  /** host:port of the frontend. */
  address: string;
  logFile: string;
  /** Stops the server (SIGTERM, SIGKILL after a grace period); the databases stay. */
  stop(): Promise<void>;
  /** Starts it again on the same databases and ports; resolves once it serves the namespace. */
  start(): Promise<void>;
  /** Stops the server and drops both databases. */
  drop(): Promise<void>;
}

const ENV_NAME = 'onramp-postgres12';
const READY_TIMEOUT_MS = 60_000;
const defaultToolsDir = packagePath('.tools', 'go');
const run = promisify(execFile);

export async function startProductionTemporal(opts: ProductionTemporalOptions): Promise<ProductionTemporal> {
  const tools = opts.toolsDir ?? defaultToolsDir;
  const namespace = opts.namespace ?? 'default';
  const missing = ['server', 'sql', 'config/development-postgres12.yaml'].filter((path) => !existsSync(join(tools, path)));
  if (missing.length > 0) {
    throw new Error(`production Temporal server: ${missing.join(', ')} missing in ${tools}: run \`node scripts/setup.mjs --test\` (builds it with Go)`);
  }
  const cli = findTemporalCli();
  if (!cli) throw new Error('Temporal CLI not found (creates the namespace): run `node scripts/setup.mjs`');
  const databases = { temporal: `${opts.databasePrefix}_temporal`, visibility: `${opts.databasePrefix}_visibility` };

  // Schema, as auto-setup does it: create, baseline 0.0, then every versioned step. A failure
  // here or at the first start drops both databases again: nothing is left behind.
  const sqlEnv = {
    ...process.env,
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: opts.postgres.host,
    SQL_PORT: String(opts.postgres.port),
    SQL_USER: opts.postgres.user,
    SQL_PASSWORD: opts.postgres.password,
  };
  for (const [kind, database] of Object.entries(databases)) {
    const schemaDir = join(tools, 'schema', 'postgresql', 'v12', kind, 'versioned');
    for (const args of [['create-database'], ['setup-schema', '-v', '0.0'], ['update-schema', '-d', schemaDir]]) {
      await run(join(tools, 'sql'), ['--db', database, ...args], { env: sqlEnv }).catch(async (error) => {
        await dropDatabases(opts.postgres, Object.values(databases)).catch(() => undefined);
        throw new Error(`temporal-sql-tool --db ${database} ${args.join(' ')} failed: ${error.stderr || error.message}`);
      });
    }
  }

  // The module's template, trimmed: no archival, metrics, pprof or dynamic config; our databases;
  // free ports for every service, so servers of parallel test files never meet.
  const port = opts.port ?? (await freePort());
  const config = parse(readFileSync(join(tools, 'config', 'development-postgres12.yaml'), 'utf8'));
  delete config.archival;
  delete config.namespaceDefaults;
  delete config.dynamicConfigClient;
  delete config.global.pprof;
  delete config.global.metrics;
  config.log = { stdout: true, level: 'warn' };
  for (const [store, database] of [
    ['postgres-default', databases.temporal],
    ['postgres-visibility', databases.visibility],
  ] as const) {
    Object.assign(config.persistence.datastores[store].sql, {
      databaseName: database,
      connectAddr: `${opts.postgres.host}:${opts.postgres.port}`,
      user: opts.postgres.user,
      password: opts.postgres.password,
      ...(store === 'postgres-default' && opts.maxConnections !== undefined ? { maxConns: opts.maxConnections, maxIdleConns: opts.maxConnections } : {}),
    });
  }
  for (const service of ['frontend', 'history', 'matching', 'worker']) {
    const rpc = config.services[service].rpc;
    rpc.grpcPort = service === 'frontend' ? port : await freePort();
    // Temporal stores membership ports as SMALLINT (cluster_membership.rpc_port): freePort's are
    // below 32768, as they must be (an ephemeral port would stop the server).
    rpc.membershipPort = await freePort();
    if (rpc.httpPort !== undefined) rpc.httpPort = await freePort();
  }
  const address = `127.0.0.1:${port}`;
  config.clusterMetadata.clusterInformation.active.rpcAddress = address;
  mkdirSync(join(opts.dir, 'config'), { recursive: true });
  writeFileSync(join(opts.dir, 'config', `${ENV_NAME}.yaml`), stringify(config));

  const logFile = join(opts.dir, 'temporal-server.log');
  let server: ServerProcess | undefined;
  let namespaceCreated = false;

  const stop = async () => {
    if (server) await server.stop();
    server = undefined;
  };

  const start = async () => {
    if (server && !server.ended) return;
    const started = spawnServer(join(tools, 'server'), ['--root', opts.dir, '--config', 'config', '--env', ENV_NAME, '--allow-no-auth', 'start'], logFile);
    server = started;
    try {
      await waitUntil('serving', started, logFile, async (connection) => {
        await connection.workflowService.getSystemInfo({});
      });
      if (!namespaceCreated) {
        await waitUntil(`namespace ${namespace} created`, started, logFile, async () => {
          try {
            await run(cli, ['operator', 'namespace', 'create', '-n', namespace, '--address', address]);
          } catch (caught) {
            const error = caught as { stderr?: string; message: string };
            if (!/already (exists|registered)/i.test(`${error.stderr ?? ''}${error.message}`)) throw new Error(error.stderr || error.message);
          }
        });
        await waitUntil(`search attributes registered on ${namespace}`, started, logFile, (connection) => registerSearchAttributes(connection.operatorService, namespace));
        namespaceCreated = true;
      }
      // The frontend caches namespaces: wait until it serves ours, not merely the database has it.
      await waitUntil(`serving namespace ${namespace}`, started, logFile, async (connection) => {
        await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
      });
    } catch (error) {
      await stop();
      throw error;
    }
  };

  const drop = async () => {
    await stop();
    await dropDatabases(opts.postgres, Object.values(databases));
  };

  try {
    await start();
  } catch (error) {
    await dropDatabases(opts.postgres, Object.values(databases)).catch(() => undefined); // leave nothing behind
    throw error;
  }
  return { address, logFile, stop, start, drop };

  function waitUntil(what: string, current: ServerProcess, log: string, attempt: (connection: Connection) => Promise<unknown>): Promise<void> {
    return waitUntilServer(current, { name: 'production Temporal server', address, logFile: log, what, timeoutMs: READY_TIMEOUT_MS, intervalMs: 250 }, attempt);
  }
}

async function dropDatabases(postgres: ProductionTemporalOptions['postgres'], databases: string[]): Promise<void> {
  const client = new pg.Client({ ...postgres, database: 'postgres' });
  await client.connect();
  try {
    for (const database of databases) await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
