import type { IdempotencyModuleOptions } from '../idempotency/index.js';
import type { AppConfig } from './app-config.js';

/** IdempotencyModule's options from the configuration: the service's and the events worker's (the reconciler reads locks) are one. */
export function idempotencyOptionsOf(config: AppConfig): IdempotencyModuleOptions {
  return {
    resultTtlMs: config.IDEMPOTENCY_RESULT_TTL_SECONDS * 1000,
    errorTtlMs: config.IDEMPOTENCY_ERROR_TTL_SECONDS * 1000,
    lockTtlMs: config.IDEMPOTENCY_LOCK_TTL_MS,
    waitTimeoutMs: config.IDEMPOTENCY_WAIT_MS,
    retryAfterSeconds: config.IDEMPOTENCY_RETRY_AFTER_SECONDS,
  };
}
