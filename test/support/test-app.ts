import { afterAll, beforeAll } from '@jest/globals';
import { Type, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import pg from 'pg';
import { AppModule } from '../../src/app.module.js';
import { setUpApp } from '../../src/app.setup.js';
import { startEventConsumers } from '../../src/events/event-consumers.js';
import { HTTP_APP_OPTIONS, httpAdapterFor } from '../../src/http/http-app.js';
import { AppConfig, loadAppConfig } from '../../src/config/index.js';
import { RabbitMqVhost, TestDatabase } from '../harness/index.js';
import { fileBrokerUrl } from './broker.js';
import { fileDatabaseUrl, postgresUrl } from './database.js';
import { startRedis } from './redis.js';

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  /** The listening address, e.g. http://127.0.0.1:41234. */
  baseUrl: string;
  /** A separate client on the same Redis, for assertions on what the service stored. */
  redis: Redis;
  /** A separate pool on the app's database, for assertions on what the service stored. */
  database: pg.Pool;
  close(): Promise<void>;
}

/** Set by the `service (express)` jest project; Fastify, the service's default, otherwise. */
export const TEST_HTTP_ADAPTER = process.env.TEST_HTTP_ADAPTER === 'express' ? 'express' : 'fastify';

/**
 * The real application (same module, same setup as main.ts) on a free port, against the given
 * Redis and, unless `env` names another DATABASE_URL, the test file's database. `env` sets
 * configuration exactly as environment variables would.
 */
export async function startTestApp(redisUrl: string, env: Record<string, string> = {}, options: { controllers?: Type[] } = {}): Promise<TestApp> {
  const config = loadAppConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'fatal',
    GATEWAY_MIN_DELAY_MS: '0',
    GATEWAY_MAX_DELAY_MS: '0',
    REDIS_URL: redisUrl,
    DATABASE_URL: env.DATABASE_URL ?? (await fileDatabaseUrl()),
    BROKER_URL: env.BROKER_URL ?? (await fileBrokerUrl()),
    // The adapter of the jest project (jest.config.mjs runs the HTTP suites on both).
    HTTP_ADAPTER: TEST_HTTP_ADAPTER,
    // Off unless a test asks for it (test/e2e/rate-limit): jest on Node 20 cannot load @nestjs/throttler (see AppModule).
    RATE_LIMIT_MAX: '0',
    ...env,
  });
  const moduleRef = await Test.createTestingModule({
    imports: [await AppModule.forRoot(config)],
    controllers: options.controllers ?? [],
  }).compile();
  const app = moduleRef.createNestApplication(httpAdapterFor(config), { ...HTTP_APP_OPTIONS, bufferLogs: false, logger: false });
  await setUpApp(app, config);
  if (config.EVENTS_WORKER) await startEventConsumers(app, config);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  const database = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2 });
  return {
    app,
    config,
    baseUrl: `http://127.0.0.1:${port}`,
    redis,
    database,
    async close() {
      await redis.quit().catch(() => redis.disconnect());
      await database.end();
      await app.close();
    },
  };
}

/**
 * A Redis, a database, a broker vhost and the app on them for one describe block: started before its tests,
 * stopped (and dropped) after. The returned object reads through to the running app, so tests use
 * it like a TestApp.
 */
export function useTestApp(env: Record<string, string> = {}, options: { controllers?: Type[] } = {}): TestApp {
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  let database: TestDatabase | undefined;
  let vhost: RabbitMqVhost | undefined;
  let running: TestApp | undefined;
  beforeAll(async () => {
    [redis, database, vhost] = await Promise.all([startRedis(), TestDatabase.create(), RabbitMqVhost.create()]);
    running = await startTestApp(redis.url, { DATABASE_URL: postgresUrl(database.connection), BROKER_URL: vhost.url, ...env }, options);
  });
  afterAll(async () => {
    await running?.close();
    await Promise.all([redis?.stop(), database?.drop(), vhost?.delete()]);
  });
  const current = () => {
    if (!running) throw new Error('the test app is only available inside the tests of its describe block');
    return running;
  };
  return {
    get app() {
      return current().app;
    },
    get config() {
      return current().config;
    },
    get baseUrl() {
      return current().baseUrl;
    },
    get redis() {
      return current().redis;
    },
    get database() {
      return current().database;
    },
    close: () => current().close(),
  };
}
