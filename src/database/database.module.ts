import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { AppConfig } from '../config/index.js';
import { DATABASE_POOL } from './database.constants.js';
import { Database } from './database.js';
import { migrateDatabase } from './migrations.js';

/**
 * One pool per process. Every statement is bounded twice: by the server (statement_timeout) and by
 * the client (query_timeout, for a server that stopped answering at all), and a connection attempt
 * by the same time, so a request never hangs on the database.
 */
export async function openDatabase(config: AppConfig): Promise<pg.Pool> {
  if (config.DATABASE_MIGRATE) await migrateDatabase(config.DATABASE_URL, { createDatabase: config.NODE_ENV === 'development' });
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: config.DATABASE_POOL_SIZE,
    statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS,
    query_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS,
    connectionTimeoutMillis: config.DATABASE_STATEMENT_TIMEOUT_MS,
    application_name: 'payments',
  });
  // An idle client's error (the server went away) would otherwise end the process; requests report their own.
  const logger = new Logger('Database');
  let reported = false;
  pool.on('error', (error) => {
    if (!reported) logger.warn(`A pooled connection failed (${error.message}); it is replaced on next use`);
    reported = true;
  });
  pool.on('connect', () => (reported = false));
  return pool;
}

@Global()
@Module({
  providers: [{ provide: DATABASE_POOL, inject: [AppConfig], useFactory: openDatabase }, Database],
  exports: [DATABASE_POOL, Database],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DATABASE_POOL) private readonly pool: pg.Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
