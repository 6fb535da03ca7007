import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfig } from '../config/index.js';
import { REDIS_CLIENT, type RedisClient } from '../redis/index.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig, REDIS_CLIENT],
      useFactory: (config: AppConfig, redis: RedisClient) => ({
        throttlers: [{ name: 'default', limit: config.RATE_LIMIT_MAX, ttl: config.RATE_LIMIT_WINDOW_SECONDS * 1000 }],
        storage: new RedisThrottlerStorage(redis),
        skipIf: () => config.RATE_LIMIT_MAX === 0,
      }),
    }),
  ],
  providers: [RateLimitGuard],
  exports: [RateLimitGuard, ThrottlerModule],
})
export class RateLimitModule {}
