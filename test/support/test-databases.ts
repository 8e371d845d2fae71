import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';

export type DatabaseBackend = 'postgres' | 'pglite';

export interface TestDatabase {
  url: string;
  /** How many connections clients may open at once (the pool's `max`). */
  maxConnections: number;
  drop(): Promise<void>;
}

/**
 * The backends integration tests run on: PGlite always; a real PostgreSQL too when
 * TEST_DATABASE_URL names one whose role may CREATE DATABASE, e.g.
 * `postgresql://root@localhost/postgres?host=/var/run/postgresql` (Unix socket, peer auth; name
 * the user: `pg` takes it from $USER, which is unset in some CI shells).
 */
export function databaseBackends(): DatabaseBackend[] {
  if (!process.env.TEST_DATABASE_URL) return ['pglite'];
  // `npm run test:production-temporal` varies the Temporal server, not Onramp's database: the
  // files it runs again take PostgreSQL only, as production does (both ran in `npm test`).
  if (process.env.ONRAMP_TEST_TEMPORAL === 'production') return ['postgres'];
  return ['postgres', 'pglite'];
}

/**
 * A fresh database and the means to throw it away: empty (no migrations applied), or for PGlite
 * unpacked from `pgliteDataDir` (a `dumpDataDir()` tarball) when given.
 */
export async function createTestDatabase(backend: DatabaseBackend, { pgliteDataDir }: { pgliteDataDir?: Blob } = {}): Promise<TestDatabase> {
  if (backend === 'pglite') {
    const server = await startEmbeddedPostgres({ loadDataDir: pgliteDataDir });
    return { url: server.url, maxConnections: 1, drop: () => server.stop() };
  }

  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error('TEST_DATABASE_URL is not set');
  const name = `onramp_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    maxConnections: 10,
    // FORCE (PostgreSQL 13+) ends connections a failed test left open.
    drop: () => withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)),
  };
}

async function withClient(url: string, use: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await use(client);
  } finally {
    await client.end();
  }
}
