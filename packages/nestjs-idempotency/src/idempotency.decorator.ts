import { applyDecorators, SetMetadata, UseFilters, UseInterceptors } from '@nestjs/common';
import { IDEMPOTENT_METADATA } from './idempotency.constants.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotentResponseFilter } from './idempotent-response.filter.js';

export interface IdempotentRouteOptions {
  /** Reject requests without an Idempotency-Key (400). Default true. */
  required?: boolean;
  /** How long definitive outcomes (successes, declines) replay; defaults to the module's. */
  resultTtlMs?: number;
  /** How long transient failures (5xx) replay before the key may run again; defaults to the module's. */
  errorTtlMs?: number;
}

/**
 * Makes a route idempotent: one execution per Idempotency-Key, its outcome replayed to every
 * retry. The handler returns its value, or takes `@Res({ passthrough: true })`.
 */
export const Idempotent = (options: IdempotentRouteOptions = {}) =>
  applyDecorators(
    SetMetadata(IDEMPOTENT_METADATA, { required: true, ...options }),
    UseInterceptors(IdempotencyInterceptor),
    UseFilters(IdempotentResponseFilter),
  );
