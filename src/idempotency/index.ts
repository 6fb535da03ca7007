export { fingerprintOf, canonicalJson } from './fingerprint.js';
export { IdempotencyInterceptor } from './idempotency.interceptor.js';
export { IdempotencyModule } from './idempotency.module.js';
export type { IdempotencyModuleOptions } from './idempotency-module-options.interface.js';
export type { IdempotencyContext } from './idempotency-scope.js';
export * from './idempotency-store.interface.js';
export { Idempotent, type IdempotentRouteOptions } from './idempotent.decorator.js';
export { IdempotentRequest } from './idempotent-request.decorator.js';
export { IDEMPOTENCY_CACHED_HEADER, IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER } from './idempotency.constants.js';
