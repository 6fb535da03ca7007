import { IdempotencyModule } from '@idempotent-payments/nestjs-idempotency';
import { RedisIdempotencyStore } from '@idempotent-payments/nestjs-idempotency/redis';
import { RedlockIdempotencyStore } from '@idempotent-payments/nestjs-idempotency/redlock';
import type { Redis } from 'ioredis';
import { keepIdempotencyReport } from './idempotency-reports.js';
import { principalOf, type RequestWithPrincipal } from '../auth/principal.js';
import { AppConfig } from '../config/index.js';
import { REDIS_CLIENT, REDIS_LOCK_CLIENTS, type RedisClient } from '../redis/index.js';

/**
 * The idempotency package as the service configures it, for the service and for the standalone
 * events worker (whose reconciler asks the same store whether a record's lock is held).
 */
export const idempotencyLayer = () =>
  IdempotencyModule.forRootAsync({
    inject: [AppConfig, REDIS_CLIENT, REDIS_LOCK_CLIENTS],
    useFactory: (config: AppConfig, redis: RedisClient, lockClients: RedisClient[]) => ({
      // Locks on the store itself (one Redis or a Cluster), or a Redlock quorum over REDIS_LOCK_URLS.
      store: lockClients[0] === redis ? new RedisIdempotencyStore(redis) : new RedlockIdempotencyStore(redis, lockClients as Redis[]),
      getScope: (context) => principalOf(context.switchToHttp().getRequest<RequestWithPrincipal>()),
      onOutcome: keepIdempotencyReport,
      resultTtlMs: config.IDEMPOTENCY_RESULT_TTL_SECONDS * 1000,
      errorTtlMs: config.IDEMPOTENCY_ERROR_TTL_SECONDS * 1000,
      lockTtlMs: config.IDEMPOTENCY_LOCK_TTL_MS,
      waitTimeoutMs: config.IDEMPOTENCY_WAIT_MS,
      retryAfterSeconds: config.IDEMPOTENCY_RETRY_AFTER_SECONDS,
    }),
  });
