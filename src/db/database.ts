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
  // An idle client's error (the server restarting) must not crash the process; the next query
  // reports it where it can be handled.
  pool.on('error', () => {});
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
