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

/** A fresh database on `backend` with the migrations applied, opened with the connections it allows. */
export async function openMigratedDatabase(backend: DatabaseBackend): Promise<MigratedDatabase> {
  const database: TestDatabase = await createTestDatabase(backend);
  await applyMigrations(database.url);
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
