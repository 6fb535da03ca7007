import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/index.js';
import { createRedisClient, createStoreClient } from './redis-client.factory.js';
import { REDIS_CLIENT, REDIS_LOCK_CLIENTS, type RedisClient } from './redis.constants.js';

@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [AppConfig],
      useFactory: createStoreClient,
    },
    {
      provide: REDIS_LOCK_CLIENTS,
      inject: [AppConfig, REDIS_CLIENT],
      useFactory: (config: AppConfig, store: RedisClient) =>
        config.REDIS_LOCK_URLS.length === 0
          ? [store]
          : Promise.all(config.REDIS_LOCK_URLS.map((url, index) => createRedisClient(url, config, `lock-${index + 1}`))),
    },
  ],
  exports: [REDIS_CLIENT, REDIS_LOCK_CLIENTS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS_CLIENT) private readonly store: RedisClient,
    @Inject(REDIS_LOCK_CLIENTS) private readonly lockClients: RedisClient[],
  ) {}

  /** Called by app.close() and, with enableShutdownHooks, on SIGTERM/SIGINT. */
  async onApplicationShutdown(): Promise<void> {
    const clients = new Set([this.store, ...this.lockClients]);
    await Promise.all([...clients].map((client) => client.quit().catch(() => client.disconnect())));
  }
}
