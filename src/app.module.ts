import { DynamicModule, Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { IdempotencyModule } from '@idempotent-payments/nestjs-idempotency';
import { RedisIdempotencyStore } from '@idempotent-payments/nestjs-idempotency/redis';
import { RedlockIdempotencyStore } from '@idempotent-payments/nestjs-idempotency/redlock';
import type { Redis } from 'ioredis';
import { AuthGuard } from './auth/index.js';
import { GracefulShutdown } from './common/graceful-shutdown.js';
import { keepIdempotencyReport } from './common/idempotency-reports.js';
import { principalOf, type RequestWithPrincipal } from './common/principal.js';
import { toProblem } from './common/problem.js';
import { AppConfig, ConfigModule } from './config/index.js';
import { EventsWorkerModule } from './events/events-worker.module.js';
import { EventsModule } from './events/events.module.js';
import { HealthModule } from './health/health.module.js';
import { LoggingModule } from './logging/logging.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { OrdersModule } from './orders/orders.module.js';
import { PaymentsModule } from './payments/payments.module.js';
import { PlaygroundModule } from './playground/playground.module.js';
import { ProviderModule } from './provider/provider.module.js';
import { REDIS_CLIENT, REDIS_LOCK_CLIENTS, RedisModule, type RedisClient } from './redis/index.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

@Module({})
export class AppModule implements NestModule {
  constructor(private readonly gracefulShutdown: GracefulShutdown) {}

  /**
   * As NestJS middleware, after the idempotency module's (a global module's middleware comes
   * first), so a 503 SHUTTING_DOWN on an idempotent route carries Idempotency-Cached too.
   */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(this.gracefulShutdown.refuseWhileShuttingDown).forRoutes('*');
  }

  static async forRoot(config: AppConfig): Promise<DynamicModule> {
    // @nestjs/throttler is CommonJS and requires the ESM-only @nestjs/common: Node 20 loads that
    // (require(esm)), jest's module runtime on Node 20 does not. So it is loaded only when rate
    // limiting is on, and the tests of the limit run the built service (test/e2e/rate-limit).
    const rateLimit = config.RATE_LIMIT_MAX > 0 ? await import('./rate-limit/index.js') : undefined;
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule,
        MetricsModule,
        RedisModule,
        IdempotencyModule.forRootAsync({
          inject: [AppConfig, REDIS_CLIENT, REDIS_LOCK_CLIENTS],
          useFactory: (appConfig: AppConfig, redis: RedisClient, lockClients: RedisClient[]) => ({
            // Locks on the store itself (one Redis or a Cluster), or a Redlock quorum over REDIS_LOCK_URLS.
            store: lockClients[0] === redis ? new RedisIdempotencyStore(redis) : new RedlockIdempotencyStore(redis, lockClients as Redis[]),
            getScope: (context) => principalOf(context.switchToHttp().getRequest<RequestWithPrincipal>()),
            toProblem,
            onOutcome: keepIdempotencyReport,
            resultTtlMs: appConfig.IDEMPOTENCY_RESULT_TTL_SECONDS * 1000,
            errorTtlMs: appConfig.IDEMPOTENCY_ERROR_TTL_SECONDS * 1000,
            lockTtlMs: appConfig.IDEMPOTENCY_LOCK_TTL_MS,
            waitTimeoutMs: appConfig.IDEMPOTENCY_WAIT_MS,
            retryAfterSeconds: appConfig.IDEMPOTENCY_RETRY_AFTER_SECONDS,
          }),
        }),
        PaymentsModule,
        OrdersModule,
        ProviderModule,
        EventsModule,
        // The consumer runs here unless it runs as its own process (npm run worker).
        ...(config.EVENTS_WORKER ? [EventsWorkerModule] : []),
        WebhooksModule,
        HealthModule,
        PlaygroundModule,
        ...(rateLimit ? [rateLimit.RateLimitModule] : []),
      ],
      providers: [
        GracefulShutdown,
        // In this order: who is calling decides which rate limit applies.
        { provide: APP_GUARD, useClass: AuthGuard },
        ...(rateLimit ? [{ provide: APP_GUARD, useClass: rateLimit.RateLimitGuard }] : []),
      ],
    };
  }
}
