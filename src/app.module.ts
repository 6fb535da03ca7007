import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig, ConfigModule } from './config/index.js';
import { HealthModule } from './health/health.module.js';
import { IdempotencyModule } from './idempotency/index.js';
import { OrdersModule } from './orders/orders.module.js';
import { PaymentsModule } from './payments/payments.module.js';
import { ProviderModule } from './provider/provider.module.js';
import { RedisModule } from './redis/index.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        RedisModule,
        IdempotencyModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (appConfig: AppConfig) => ({
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
        HealthModule,
      ],
    };
  }
}
