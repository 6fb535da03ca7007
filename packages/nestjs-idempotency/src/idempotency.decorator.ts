import { applyDecorators, SetMetadata, UseFilters, UseInterceptors } from '@nestjs/common';
import { IDEMPOTENT_METADATA } from './idempotency.constants.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import type { IdempotencyMessageDefaults, IdempotencyRouteDefaults } from './idempotency-options.interface.js';
import { IdempotentResponseFilter } from './idempotent-response.filter.js';

export interface IdempotentRouteOptions extends IdempotencyRouteDefaults, IdempotencyMessageDefaults {
  /** Reject requests (400) and messages (an RpcException) without a key. Default true. */
  required?: boolean;
}

/**
 * Makes a route idempotent: one execution per Idempotency-Key, the response it sent replayed to
 * every retry. On a controller it covers the controller's POST, PUT, PATCH and DELETE routes and
 * its message handlers; a method's options win over its controller's, field by field, and both
 * over the module's. On `@EventPattern()` / `@MessagePattern()` handlers: one execution per
 * message key (see IdempotencyMessageDefaults).
 */
export const Idempotent = (options: IdempotentRouteOptions = {}) =>
  applyDecorators(SetMetadata(IDEMPOTENT_METADATA, options), UseInterceptors(IdempotencyInterceptor), UseFilters(IdempotentResponseFilter));
