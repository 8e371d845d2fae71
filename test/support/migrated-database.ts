import { readFile } from 'node:fs/promises';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { applyMigrations } from '../../src/db/migrate.ts';
import { createTestDatabase, type DatabaseBackend, type TestDatabase } from './test-databases.ts';

export interface MigratedDatabase {
  db: Database;
  url: string;
  /** How many connections clients may open at once (the pool's `max`). */
  maxConnections: number;
  /** Closes the pool and drops the database. */
  close(): Promise<void>;
}

let migratedPglite: Promise<Blob | undefined> | undefined;
/** The run's migrated PGlite cluster (run-artifacts.global-setup.ts), read once per test file; none in a project without it. */
function migratedPgliteDataDir(): Promise<Blob | undefined> {
  return (migratedPglite ??= (async () => {
    const path = inject('migratedPglitePath');
    return path ? new Blob([await readFile(path)]) : undefined;
  })());
}

/**
 * A fresh database on `backend` with the migrations applied (not opened). PGlite starts from the
 * run's migrated cluster when the project has one; applying the migrations then checks it is current.
 */
export async function createMigratedTestDatabase(backend: DatabaseBackend): Promise<TestDatabase> {
  const database = await createTestDatabase(backend, backend === 'pglite' ? { pgliteDataDir: await migratedPgliteDataDir() } : {});
  await applyMigrations(database.url);
  return database;
}

/** A fresh database on `backend` with the migrations applied, opened with the connections it allows. */
export async function openMigratedDatabase(backend: DatabaseBackend): Promise<MigratedDatabase> {
  const database = await createMigratedTestDatabase(backend);
  const db = openDatabase(database.url, { max: database.maxConnections });
  return {
    db,
    url: database.url,
    maxConnections: database.maxConnections,
    async close() {
      await db.close();
      await database.drop();
    },
  };
}
