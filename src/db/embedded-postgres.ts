import { mkdir } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketHandler, type PGLiteSocketHandlerOptions } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgresOptions {
  /** Where PGlite keeps its files (created if missing); undefined keeps the database in memory. */
  dataDir?: string;
  /**
   * A data directory to start from, as PGlite's `dumpDataDir()` wrote it (a tarball): the cluster is
   * unpacked instead of initialised, which takes a third of the time.
   */
  loadDataDir?: Blob;
  /** 0 (the default) lets the system pick a free port. */
  port?: number;
  host?: string;
  /** How long a connection waits for the session before it is refused (53300); 60 s by default. */
  connectionWaitMs?: number;
}

export interface EmbeddedPostgres {
  /** A postgresql:// URL for `pg` and Prisma's adapter-pg. */
  url: string;
  /** Closes the socket server, then PGlite, which flushes the data directory. */
  stop(): Promise<void>;
}

/**
 * PostgreSQL without a server to install: PGlite (Postgres compiled to WASM, in this process)
 * behind the wire protocol on `host:port` (pglite-socket's protocol handler).
 *
 * PGlite is one Postgres session. A real server gives every connection a session of its own, and
 * the clients rely on it: `pg` keeps named statements per connection, so a pool that replaced a
 * broken connection re-prepared statements the session still held ("prepared statement … already
 * exists" on every later request). So connections take the session one at a time, and each starts
 * on a reset one (rolled back, DISCARD ALL: no statements, locks, temporary tables or settings of
 * the connection before). A connection that arrives while another holds the session waits (its
 * predecessor is usually closing: a pool replacing a client) rather than being refused; after
 * `connectionWaitMs` it gets PostgreSQL's own "too many connections" (53300). Clients use a pool of
 * `max: 1`. Starting takes 2-3.5 s in memory or on a new data directory, about 0.3 s on an existing one.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const host = opts.host ?? '127.0.0.1';
  const dataDir = opts.dataDir === undefined ? undefined : resolve(opts.dataDir);
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });

  const db = await PGlite.create({ dataDir, loadDataDir: opts.loadDataDir });
  const sessions = new OneSessionAtATime(db, opts.connectionWaitMs ?? 60_000);
  const server = createServer((socket) => sessions.accept(socket));
  try {
    await new Promise<void>((listening, failed) => {
      server.once('error', failed);
      server.listen(opts.port ?? 0, host, () => listening());
    });
  } catch (error) {
    await db.close();
    throw error;
  }

  const port = (server.address() as { port: number }).port;
  const url = `postgresql://postgres@${urlHost(host)}:${port}/postgres`;

  let stopping: Promise<void> | undefined;
  return {
    url,
    stop: () =>
      (stopping ??= (async () => {
        await closeServer(server, sessions);
        // After the session's last statement (and the rollback of a dropped transaction): PGlite
        // flushes the data directory on close.
        await sessions.idle();
        await db.close();
      })()),
  };
}

/** Hands the one PGlite session to one connection at a time, reset in between. */
class OneSessionAtATime {
  private active: { socket: Socket; handler: PGLiteSocketHandler } | undefined;
  private readonly waiting: Socket[] = [];
  private switching: Promise<void> = Promise.resolve();
  /** A connection has used the session since its last reset. */
  private used = false;
  private stopped = false;

  constructor(
    private readonly db: PGlite,
    private readonly waitMs: number,
  ) {}

  accept(socket: Socket): void {
    if (this.stopped) return void socket.destroy();
    socket.setNoDelay(true);
    this.waiting.push(socket);
    const refuse = setTimeout(() => this.refuse(socket), this.waitMs);
    refuse.unref();
    socket.once('close', () => {
      clearTimeout(refuse);
      this.drop(socket);
    });
    // Nothing is read until the socket is handed the session: its startup message waits in the buffer.
    socket.pause();
    this.next();
  }

  /** Closes every connection and serves no more. */
  stop(): void {
    this.stopped = true;
    for (const socket of this.waiting.splice(0)) socket.destroy();
    this.active?.socket.destroy();
  }

  /** Resolves when the session is back to no connection (its reset done). */
  async idle(): Promise<void> {
    while (this.active) await new Promise((resolve) => setTimeout(resolve, 10));
    await this.switching;
  }

  private next(): void {
    this.switching = this.switching.then(async () => {
      if (this.active) return;
      // Reset as soon as a connection lets go, also when none waits or the server stops (a
      // dropped transaction is rolled back before PGlite closes).
      if (this.used) await this.resetSession();
      this.used = false;
      const socket = this.stopped ? undefined : this.waiting.shift();
      if (!socket) return;
      if (socket.destroyed) return this.next();
      const handler = new PGLiteSocketHandler({ queryQueue: this.queue(), closeOnDetach: true });
      this.active = { socket, handler };
      this.used = true;
      const release = () => {
        if (this.active?.handler !== handler) return;
        this.active = undefined;
        this.next();
      };
      handler.addEventListener('close', release);
      handler.addEventListener('error', release);
      await handler.attach(socket);
      socket.resume();
    });
  }

  /** What the next connection finds: no transaction, statements, portals, locks or settings. */
  private async resetSession(): Promise<void> {
    // exec waits for the statement in flight (it takes the query lock the protocol messages hold).
    try {
      if (this.db.isInTransaction()) await this.db.exec('ROLLBACK');
      await this.db.exec('DISCARD ALL');
    } catch {
      // A closed database: nothing to reset; the next connection fails on its own.
    }
  }

  /**
   * The handler's query queue, for a session with one connection: each protocol message runs
   * against PGlite in turn. The transaction a closing connection leaves is rolled back by the
   * reset before the next connection, so there is nothing to clear here.
   */
  private queue(): PGLiteSocketHandlerOptions['queryQueue'] {
    const db = this.db;
    const queue = {
      async enqueue(_handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
        let bytes = 0;
        await db.runExclusive(() => db.execProtocolRawStream(message, { onRawData: (data) => ((bytes += data.length), onData(data)) }));
        return bytes;
      },
      getQueueLength: () => 0,
      clearQueueForHandler: () => undefined,
      clearTransactionIfNeeded: async () => undefined,
    };
    // The package types its queue as a class with private fields; this object has its whole public shape.
    return queue as unknown as PGLiteSocketHandlerOptions['queryQueue'];
  }

  private drop(socket: Socket): void {
    const at = this.waiting.indexOf(socket);
    if (at !== -1) this.waiting.splice(at, 1);
  }

  /** PostgreSQL's own refusal, so clients report 53300 (too many connections), which the API answers 503. */
  private refuse(socket: Socket): void {
    if (!this.waiting.includes(socket)) return;
    this.drop(socket);
    // Closed once written, as PostgreSQL does after a FATAL error (the client may not close its end).
    socket.end(errorResponse('53300', 'sorry, too many clients already: the embedded database serves one connection at a time'), () => socket.destroy());
  }
}

/** A FATAL ErrorResponse message of the wire protocol. */
function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.concat([field('S', 'FATAL'), field('V', 'FATAL'), field('C', code), field('M', message), Buffer.from([0])]);
  const header = Buffer.alloc(5);
  header.write('E', 0);
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

const field = (type: string, value: string) => Buffer.concat([Buffer.from(type), Buffer.from(value, 'utf8'), Buffer.from([0])]);

function closeServer(server: Server, sessions: OneSessionAtATime): Promise<void> {
  sessions.stop();
  return new Promise((closed) => server.close(() => closed()));
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
