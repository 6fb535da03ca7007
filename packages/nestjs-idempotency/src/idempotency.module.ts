import { Inject, Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, Reflector } from '@nestjs/core';
import { IDEMPOTENCY_MODULE_OPTIONS, IDEMPOTENCY_OPTIONS } from './idempotency.constants.js';
import type { IdempotencyModuleOptions, ResolvedIdempotencyOptions } from './idempotency-options.interface.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { ASYNC_OPTIONS_TYPE, ConfigurableIdempotencyModule, OPTIONS_TYPE, resolveOptions } from './idempotency.module-definition.js';
import { IdempotencyService } from './idempotency.service.js';
import { controllersWithIdempotentRoutes, markIdempotentResponse } from './idempotent-routes.js';
import { IdempotentResponseFilter } from './idempotent-response.filter.js';
import { IDEMPOTENCY_STORE } from './storage/idempotency-store.interface.js';

/**
 * `IdempotencyModule.forRoot(options?)` or `.forRootAsync({ inject, useFactory })`; global by
 * default, so `@Idempotent()` works on any controller. It installs the `Idempotency-Cached`
 * middleware on the controllers with idempotent routes itself.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: IDEMPOTENCY_OPTIONS, inject: [IDEMPOTENCY_MODULE_OPTIONS], useFactory: resolveOptions },
    { provide: IDEMPOTENCY_STORE, inject: [IDEMPOTENCY_OPTIONS], useFactory: (options: ResolvedIdempotencyOptions) => options.store },
    IdempotencyService,
    IdempotencyInterceptor,
    IdempotentResponseFilter,
  ],
  // @Idempotent() instantiates the interceptor and the filter in the controller's module.
  exports: [IDEMPOTENCY_OPTIONS, IDEMPOTENCY_STORE, IdempotencyService, IdempotencyInterceptor, IdempotentResponseFilter],
})
export class IdempotencyModule extends ConfigurableIdempotencyModule implements NestModule {
  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {
    super();
  }

  static override forRoot(options: typeof OPTIONS_TYPE = {}) {
    return super.forRoot(options);
  }

  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE) {
    return super.forRootAsync(options);
  }

  configure(consumer: MiddlewareConsumer): void {
    const controllers = controllersWithIdempotentRoutes(this.discovery, this.reflector);
    if (controllers.length > 0) consumer.apply(markIdempotentResponse).forRoutes(...controllers);
  }
}

export type { IdempotencyModuleOptions };
