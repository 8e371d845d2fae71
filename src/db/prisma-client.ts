import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.ts';

/**
 * Prisma Client over `pg` (no query engine binary). `max` sizes the connection pool: pass 1 for
 * the embedded PGlite server, which serves one connection at a time.
 */
export function createPrismaClient(databaseUrl: string, opts: { max?: number } = {}): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: opts.max ?? 10 }) });
}
