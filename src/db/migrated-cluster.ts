import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { keptBuild } from '../build-cache.ts';
import { startEmbeddedPostgres } from './embedded-postgres.ts';
import { applyMigrations } from './migrate.ts';

/**
 * A PGlite cluster with every migration applied, as `dumpDataDir()` writes it (a tarball), for
 * `startEmbeddedPostgres({ loadDataDir })`: unpacking it takes about a third of initialising a
 * cluster and applying the migrations. Built once per process and kept between processes by the
 * migrations, the migrator and the packages' versions (`keptBuild`). Whoever starts from it still
 * applies the migrations, which finds nothing to do when it is current.
 */
export async function migratedCluster(): Promise<Blob> {
  const tar = await keptBuild({ kind: 'pglite-migrated', inputs: ['prisma/migrations', 'src/db'], build: buildMigratedCluster });
  return new Blob([tar]);
}

async function buildMigratedCluster(): Promise<Uint8Array> {
  // On disk, then reopened without the socket server: dumpDataDir wants a PGlite of its own.
  const dataDir = await mkdtemp(join(tmpdir(), 'onramp-pglite-migrated-'));
  try {
    const server = await startEmbeddedPostgres({ dataDir });
    try {
      await applyMigrations(server.url);
    } finally {
      await server.stop();
    }
    const db = await PGlite.create({ dataDir });
    try {
      return new Uint8Array(await (await db.dumpDataDir('none')).arrayBuffer());
    } finally {
      await db.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
