import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgresOptions {
  /** Where PGlite keeps its files (created if missing); undefined keeps the database in memory. */
  dataDir?: string;
  /** 0 (the default) lets the system pick a free port. */
  port?: number;
  host?: string;
}

export interface EmbeddedPostgres {
  /** A postgresql:// URL for `pg` and Prisma's adapter-pg. */
  url: string;
  /** Closes the socket server, then PGlite, which flushes the data directory. */
  stop(): Promise<void>;
}

/**
 * PostgreSQL without a server to install: PGlite (Postgres compiled to WASM, in this process)
 * behind pglite-socket, which speaks the wire protocol on `host:port`.
 *
 * One connection at a time: PGlite is a single Postgres session, and pglite-socket 0.2.17 accepts
 * `maxConnections` connections (default 1) and refuses the rest. Clients must use a pool of
 * `max: 1` and close it before another client connects (migrations first, then Prisma). Raising
 * `maxConnections` would let several connections take turns on that one session: statements are
 * queued, and a transaction keeps the session until it ends, but session state (SET, advisory
 * locks, prepared statements, temporary tables) is shared by all of them, so it stays at 1 here.
 * Starting takes 2-3.5 s in memory or on a new data directory, about 0.3 s on an existing one.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const host = opts.host ?? '127.0.0.1';
  const dataDir = opts.dataDir === undefined ? undefined : resolve(opts.dataDir);
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });

  const db = await PGlite.create({ dataDir });
  const server = new PGLiteSocketServer({ db, host, port: opts.port ?? 0, maxConnections: 1 });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }

  // getServerConn() is "host:port" once listening, with the port the system picked for 0.
  const port = Number(server.getServerConn().split(':').pop());
  const url = `postgresql://postgres@${urlHost(host)}:${port}/postgres`;

  let stopping: Promise<void> | undefined;
  return {
    url,
    stop: () =>
      (stopping ??= (async () => {
        await server.stop();
        // close() waits for the rollbacks of connections the server just dropped mid-transaction.
        await db.close();
      })()),
  };
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
