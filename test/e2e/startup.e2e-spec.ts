import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { runToExit, ServiceProcess, TestDatabase } from '../harness/index.js';
import { fileBrokerUrl } from '../support/broker.js';
import { charge, newKey } from '../support/payments-client.js';
import { startRedis } from '../support/redis.js';

/** The built service started with this environment only, to its exit (it must not start). */
const startWith = (env: Record<string, string>) =>
  runToExit(process.execPath, ['dist/main.js'], { env: { PATH: process.env.PATH ?? '', ...env }, timeoutMs: 30_000 });

/** docs/promises.md, "Defaults": a wrong value stops the service with a clear message naming the variable. */
describe('start-up with a bad configuration', () => {
  it.each([
    ['PORT', 'eighty'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['IDEMPOTENCY_ERROR_TTL_SECONDS', '0'],
    ['DATABASE_URL', 'mysql://127.0.0.1:3306/payments'],
    ['DATABASE_URL', '127.0.0.1:5432/payments'],
    ['DATABASE_POOL_SIZE', '0'],
    ['DATABASE_MIGRATE', 'maybe'],
  ])('refuses to start when %s=%s, naming the variable, without a stack trace', async (name, value) => {
    const run = await startWith({ NODE_ENV: 'test', [name]: value });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(name);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses to start in production without API keys', async () => {
    const run = await startWith({ NODE_ENV: 'production' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('API_KEYS must be set in production');
  });
});

/** The migrations of the repository, which `schema_migrations` records one row each once applied. */
const MIGRATIONS = readdirSync('migrations').filter((file) => file.endsWith('.sql'));

/** The names node-pg-migrate recorded in the database, or undefined while it has none (no table). */
async function appliedMigrations(url: string): Promise<string[] | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ table: string | null }>(`SELECT to_regclass('public.schema_migrations')::text AS table`);
    if (rows[0].table === null) return undefined;
    return (await client.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY run_on, id')).rows.map(({ name }) => name);
  } finally {
    await client.end();
  }
}

/** The built service against a database of its own on the machine's PostgreSQL: how deployments start it. */
describe('start-up and the database migrations (dist/)', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let database: TestDatabase;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((service) => service.stop()));
    await database?.drop();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const start = async (env: Record<string, string | undefined>) => {
    const service = await ServiceProcess.start({ REDIS_URL: redis.url, BROKER_URL: await fileBrokerUrl(), ...env });
    services.push(service);
    return service;
  };

  it('with DATABASE_MIGRATE=false starts on an empty database and leaves it alone; dist/database/migrate.js then applies the migrations', async () => {
    database = await TestDatabase.create();
    // The events worker would look for its tables before the deploy step ran: this start is about the service alone.
    const service = await start({ DATABASE_URL: database.url, DATABASE_MIGRATE: 'false', EVENTS_WORKER: 'false', CLEANUP_INTERVAL_SECONDS: '0' });
    expect(await appliedMigrations(database.url)).toBeUndefined();

    // What `npm run migrate` runs after its build (here in test mode: no database is created).
    const run = await runToExit(process.execPath, ['dist/database/migrate.js'], {
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: database.url },
      timeoutMs: 30_000,
    });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(await appliedMigrations(database.url)).toEqual(MIGRATIONS.map((file) => file.replace(/\.sql$/, '')));

    // The running instance works on the schema the deploy step applied.
    await charge(service.baseUrl, newKey('migrate')).expect(201);

    // Run again, there is nothing left to apply.
    const again = await runToExit(process.execPath, ['dist/database/migrate.js'], {
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: database.url },
      timeoutMs: 30_000,
    });
    expect(again.code).toBe(0);
    expect(await appliedMigrations(database.url)).toHaveLength(MIGRATIONS.length);
  });

  it('two instances starting together on an empty database both start, and each migration is applied once', async () => {
    database = await TestDatabase.create();
    const [first, second] = await Promise.all([start({ DATABASE_URL: database.url }), start({ DATABASE_URL: database.url })]);
    expect(await appliedMigrations(database.url)).toEqual(MIGRATIONS.map((file) => file.replace(/\.sql$/, '')));
    await charge(first.baseUrl, newKey('first')).expect(201);
    await charge(second.baseUrl, newKey('second')).expect(201);
  });

  it('in development creates a missing database, then migrates it', async () => {
    // A fresh name, free on the server: created and dropped, so only the service creates it again.
    database = await TestDatabase.create();
    await database.drop();
    const service = await start({ NODE_ENV: 'development', DATABASE_URL: database.url });
    expect(await appliedMigrations(database.url)).toHaveLength(MIGRATIONS.length);
    await charge(service.baseUrl, newKey('development')).expect(201);
  });

  it('outside development does not create a missing database: it refuses to start', async () => {
    database = await TestDatabase.create();
    await database.drop();
    const run = await startWith({ NODE_ENV: 'test', REDIS_URL: redis.url, DATABASE_URL: database.url });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`database "${database.name}" does not exist`);
  });
});
