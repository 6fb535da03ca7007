import { IdempotencyModule, TieredIdempotencyStore } from '@idempotent-payments/nestjs-idempotency';
import { PostgresIdempotencyStore } from '@idempotent-payments/nestjs-idempotency/postgres';
import { RedisIdempotencyStore } from '@idempotent-payments/nestjs-idempotency/redis';
import { RedlockIdempotencyStore } from '@idempotent-payments/nestjs-idempotency/redlock';
import { Global, Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { principalOf, type RequestWithPrincipal } from '../auth/principal.js';
import { AppConfig } from '../config/index.js';
import { DATABASE_POOL } from '../database/database.constants.js';
import { REDIS_CLIENT, REDIS_LOCK_CLIENTS, type RedisClient } from '../redis/index.js';
import { keepIdempotencyReport } from './idempotency-reports.js';

/**
 * Every stored outcome in PostgreSQL (the table of the migrations), written before the answer goes
 * out; the cleanup removes the expired ones.
 */
@Global()
@Module({
  providers: [
    {
      provide: PostgresIdempotencyStore,
      inject: [DATABASE_POOL],
      useFactory: (pool: Pool) => new PostgresIdempotencyStore(pool, { createSchema: false }),
    },
  ],
  exports: [PostgresIdempotencyStore],
})
export class IdempotencyRecordsModule {}

/**
 * The idempotency package as the service configures it, for the service and for the standalone
 * events worker (whose reconciler asks the same store whether a record's lock is held). Tiered:
 * locks and the hot copy of outcomes in Redis (one node or a Cluster, or a Redlock quorum over
 * REDIS_LOCK_URLS), so a replay is one Redis round trip; every outcome also in PostgreSQL, which
 * decides on a miss (a Redis that lost its data replays from there).
 */
export const idempotencyLayer = () =>
  IdempotencyModule.forRootAsync({
    imports: [IdempotencyRecordsModule],
    inject: [AppConfig, REDIS_CLIENT, REDIS_LOCK_CLIENTS, PostgresIdempotencyStore],
    useFactory: (config: AppConfig, redis: RedisClient, lockClients: RedisClient[], durable: PostgresIdempotencyStore) => ({
      store: new TieredIdempotencyStore({
        hot: lockClients[0] === redis ? new RedisIdempotencyStore(redis) : new RedlockIdempotencyStore(redis, lockClients as Redis[]),
        durable,
      }),
      getScope: (context) => principalOf(context.switchToHttp().getRequest<RequestWithPrincipal>()),
      onOutcome: keepIdempotencyReport,
      resultTtlMs: config.IDEMPOTENCY_RESULT_TTL_SECONDS * 1000,
      errorTtlMs: config.IDEMPOTENCY_ERROR_TTL_SECONDS * 1000,
      lockTtlMs: config.IDEMPOTENCY_LOCK_TTL_MS,
      waitTimeoutMs: config.IDEMPOTENCY_WAIT_MS,
      retryAfterSeconds: config.IDEMPOTENCY_RETRY_AFTER_SECONDS,
      // The event consumers' deliveries are settled by the layer, once each effect and record are committed.
      messages: { ack: 'manual' },
    }),
  });
