export { canonicalJson, fingerprintOf } from './fingerprint.js';
export {
  IDEMPOTENCY_CACHED_HEADER,
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENCY_MODULE_OPTIONS,
  IDEMPOTENCY_OPTIONS,
  IDEMPOTENT_REPLAYED_HEADER,
} from './idempotency.constants.js';
export { Idempotent, type IdempotentRouteOptions } from './idempotency.decorator.js';
export * from './idempotency.exceptions.js';
export { IdempotencyInterceptor } from './idempotency.interceptor.js';
export { IdempotencyModule } from './idempotency.module.js';
export { ANONYMOUS_SCOPE, authenticatedPrincipal } from './idempotency.module-definition.js';
export type {
  FingerprintOf,
  IdempotencyMessageDefaults,
  IdempotencyModuleOptions,
  MessageKeySource,
  IdempotencyRouteDefaults,
  ResolvedIdempotencyOptions,
  StoreIf,
} from './idempotency-options.interface.js';
export type { IdempotencyOutcome, IdempotencyReport } from './idempotency-report.js';
export { toIdempotencyContext, type IdempotencyContext, type IdempotencyScope } from './idempotency-scope.js';
export {
  IdempotencyService,
  type AttemptOutcome,
  type IdempotencyAttempt,
  type IdempotentCall,
  type IdempotentResult,
  type IdempotentWork,
  type RunOptions,
  type Started,
} from './idempotency.service.js';
export { IDEMPOTENT_MESSAGE, IdempotentMessage, type IdempotentMessageContext } from './idempotent-message.decorator.js';
export { IDEMPOTENCY_CONTEXT, IdempotentRequest, type RequestWithIdempotency } from './idempotent-request.decorator.js';
export { IdempotentResponseFilter } from './idempotent-response.filter.js';
export type { EncryptionKey, EncryptionOptions } from './response-cipher.js';
export { retentionFor, ttlFor, type Retention, type RetentionPolicy } from './retention.js';
export * from './storage/idempotency-store.interface.js';
export { MemoryIdempotencyStore, type MemoryIdempotencyStoreOptions } from './storage/memory.store.js';
export { TieredIdempotencyStore, type TieredIdempotencyStoreOptions } from './storage/tiered.store.js';
