import { InvalidConfigError, loadAppConfig } from '../config/index.js';
import { migrateDatabase } from './migrations.js';

/** `npm run migrate`: applies the pending migrations to DATABASE_URL, for deployments that run the service with DATABASE_MIGRATE=false. */
async function migrate(): Promise<void> {
  const config = loadAppConfig(process.env);
  await migrateDatabase(config.DATABASE_URL, { createDatabase: config.NODE_ENV === 'development' });
}

migrate().catch((error: unknown) => {
  console.error(error instanceof InvalidConfigError ? error.message : error);
  process.exit(1);
});
