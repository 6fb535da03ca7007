import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig, ConfigModule } from './config/index.js';
import { DatabaseModule } from './database/database.module.js';
import { EventsWorkerModule } from './events/events-worker.module.js';
import { HealthModule } from './health/health.module.js';
import { idempotencyLayer } from './idempotency/idempotency-layer.js';
import { LoggingModule } from './logging/logging.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { RedisModule } from './redis/index.js';

/**
 * What the events worker needs when it runs as its own process: configuration, logs, PostgreSQL,
 * Redis, the consumer and the reconciler (which reads the idempotency locks), and for operating it the same
 * /health, /health/ready and /metrics as the service.
 */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ConfigModule.forRoot(config), LoggingModule, DatabaseModule, RedisModule, idempotencyLayer(), EventsWorkerModule, HealthModule, MetricsModule],
    };
  }
}
