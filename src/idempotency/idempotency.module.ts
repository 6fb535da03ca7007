import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { IDEMPOTENCY_MODULE_OPTIONS } from './idempotency.constants.js';
import { IDEMPOTENCY_STORE } from './idempotency-store.interface.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { ConfigurableIdempotencyModule } from './idempotency.module-definition.js';
import { RedisIdempotencyStore } from './redis-idempotency.store.js';

/**
 * `IdempotencyModule.forRoot({...})` or `.forRootAsync({ inject, useFactory })`; global by default
 * so `@Idempotent()` works on any controller. Needs RedisModule for the clients.
 */
@Module({
  // For findIdempotentRoutes.
  imports: [DiscoveryModule],
  providers: [{ provide: IDEMPOTENCY_STORE, useClass: RedisIdempotencyStore }, IdempotencyInterceptor],
  // @Idempotent() instantiates the interceptor in the controller's module: its dependencies are exported.
  exports: [IDEMPOTENCY_STORE, IDEMPOTENCY_MODULE_OPTIONS, IdempotencyInterceptor],
})
export class IdempotencyModule extends ConfigurableIdempotencyModule {}
