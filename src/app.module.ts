import { DynamicModule, Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard } from './auth/index.js';
import { GracefulShutdown, GracefulShutdownModule } from './http/graceful-shutdown.js';
import { CleanupModule } from './cleanup/cleanup.module.js';
import { AppConfig, ConfigModule } from './config/index.js';
import { DatabaseModule } from './database/database.module.js';
import { idempotencyLayer } from './idempotency/idempotency-layer.js';
import { EventsWorkerModule } from './events/events-worker.module.js';
import { EventsModule } from './events/events.module.js';
import { HealthModule } from './health/health.module.js';
import { LoggingModule } from './logging/logging.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { OrdersModule } from './orders/orders.module.js';
import { PaymentsModule } from './payments/payments.module.js';
import { PlaygroundModule } from './playground/playground.module.js';
import { GatewayAdminModule } from './gateway/gateway-admin.module.js';
import { RedisModule } from './redis/index.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

@Module({})
export class AppModule implements NestModule {
  constructor(private readonly gracefulShutdown: GracefulShutdown) {}

  /**
   * As NestJS middleware, after the idempotency module's (a global module's middleware comes
   * first), so a 503 SHUTTING_DOWN on an idempotent route carries Idempotency-Cached too.
   */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(this.gracefulShutdown.refuseWhileShuttingDown).forRoutes('{*path}');
  }

  static async forRoot(config: AppConfig): Promise<DynamicModule> {
    // @nestjs/throttler is CommonJS and requires the ESM-only @nestjs/common: Node 20 loads that
    // (require(esm)), jest's module runtime only from Node 24.9 on. So it is loaded only when rate
    // limiting is on, and the other tests run without it on Node 20 (test/e2e/rate-limit).
    const rateLimit = config.RATE_LIMIT_MAX > 0 ? await import('./rate-limit/index.js') : undefined;
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        GracefulShutdownModule,
        LoggingModule,
        MetricsModule,
        DatabaseModule,
        RedisModule,
        idempotencyLayer(),
        PaymentsModule,
        OrdersModule,
        GatewayAdminModule,
        EventsModule,
        // The consumer and the reconciler run here unless they run as their own process (npm run worker).
        ...(config.EVENTS_WORKER ? [EventsWorkerModule] : []),
        WebhooksModule,
        CleanupModule,
        HealthModule,
        ...(config.PLAYGROUND ? [PlaygroundModule] : []),
        ...(rateLimit ? [rateLimit.RateLimitModule] : []),
      ],
      providers: [
        // In this order: who is calling decides which rate limit applies.
        { provide: APP_GUARD, useClass: AuthGuard },
        ...(rateLimit ? [{ provide: APP_GUARD, useClass: rateLimit.RateLimitGuard }] : []),
      ],
    };
  }
}
