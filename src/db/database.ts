import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.ts';

/**
 * One connection pool, two ways in: Prisma Client (through adapter-pg) for reads and simple
 * writes, and the raw `pg` pool for the batched hot paths (ingest, journey effects), where
 * Prisma's per-query overhead dominated the profile. `max` sizes the pool: 1 for the embedded
 * PGlite server, which serves one connection at a time.
 */
export interface Database {
  prisma: PrismaClient;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function openDatabase(databaseUrl: string, opts: { max?: number } = {}): Database {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: opts.max ?? 10 });
  // A connection's error (the server restarting or crashing) must not crash the process: the pool
  // reports it for idle clients, and a client checked out at that moment emits it on itself,
  // where pg attaches no listener (found by test/chaos/postgres-restart.test.ts). The query in
  // flight, if any, fails and reports it where it can be handled (a 503, an activity retry).
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    pool,
    async close() {
      await prisma.$disconnect();
      if (!pool.ended) await pool.end();
    },
  };
}
