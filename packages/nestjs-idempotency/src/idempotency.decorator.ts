import { applyDecorators, SetMetadata, UseFilters, UseInterceptors } from '@nestjs/common';
import { IDEMPOTENT_METADATA } from './idempotency.constants.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import type { IdempotencyRouteDefaults } from './idempotency-options.interface.js';
import { IdempotentResponseFilter } from './idempotent-response.filter.js';

export interface IdempotentRouteOptions extends IdempotencyRouteDefaults {
  /** Reject requests without an Idempotency-Key (400). Default true. */
  required?: boolean;
}

/**
 * Makes a route idempotent: one execution per Idempotency-Key, the response it sent replayed to
 * every retry. On a controller it covers the controller's POST, PUT, PATCH and DELETE routes; a
 * method's options win over its controller's, field by field, and both over the module's.
 */
export const Idempotent = (options: IdempotentRouteOptions = {}) =>
  applyDecorators(SetMetadata(IDEMPOTENT_METADATA, options), UseInterceptors(IdempotencyInterceptor), UseFilters(IdempotentResponseFilter));
