import { Logger } from '@nestjs/common';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';

/** migrations/ at the repository's root, from src/database (tests) and dist/database (the build) alike. */
const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));
/** SQLSTATE invalid_catalog_name: the database does not exist. */
const DATABASE_MISSING = '3D000';
const DATABASE_EXISTS = '42P04';

/**
 * Applies the pending migrations of migrations/ in one transaction. Instances starting together
 * queue on node-pg-migrate's advisory lock (`wait`), so each migration runs once and every
 * instance starts on the same schema. With `createDatabase` (development) a missing database is
 * created first, so `npm start` works on a fresh machine with PostgreSQL running.
 */
export async function migrateDatabase(url: string, options: { createDatabase: boolean }): Promise<void> {
  const logger = new Logger('Migrations');
  const client = new pg.Client({ connectionString: url, application_name: 'payments:migrations' });
  try {
    await client.connect();
  } catch (error) {
    if ((error as { code?: string }).code !== DATABASE_MISSING || !options.createDatabase) throw error;
    await createDatabase(url);
    logger.log(`Created the database ${new URL(url).pathname.slice(1)}`);
    return migrateDatabase(url, { createDatabase: false });
  }
  try {
    await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: 'schema_migrations',
      advisoryLockMode: 'wait',
      checkOrder: true,
      logger: { info: (message) => logger.log(message.trim()), warn: (message) => logger.warn(message), error: (message) => logger.error(message) },
    });
  } finally {
    await client.end();
  }
}

async function createDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const server = new URL(url);
  server.pathname = '/postgres';
  const client = new pg.Client({ connectionString: server.toString() });
  await client.connect();
  try {
    // CREATE DATABASE takes no parameters: the name is quoted as an identifier.
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } catch (error) {
    // Another instance created it in the meantime.
    if ((error as { code?: string }).code !== DATABASE_EXISTS) throw error;
  } finally {
    await client.end();
  }
}
