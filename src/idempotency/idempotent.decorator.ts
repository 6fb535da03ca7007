import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { ApiProblemResponses } from '../common/openapi.js';
import { IDEMPOTENCY_CACHED_HEADER, IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_METADATA, IDEMPOTENT_REPLAYED_HEADER } from './idempotency.constants.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';

export interface IdempotentRouteOptions {
  /** Reject requests without an Idempotency-Key (400). Default true. */
  required?: boolean;
  /** How long definitive outcomes (successes, declines) replay; defaults to the module's. */
  resultTtlMs?: number;
  /** How long transient failures (5xx) replay before the key may run again; defaults to the module's. */
  errorTtlMs?: number;
}

/** Response headers of an idempotent route, for its OpenAPI success response. */
export const IDEMPOTENCY_RESPONSE_HEADERS = {
  [IDEMPOTENCY_CACHED_HEADER]: { description: 'true when this is a stored outcome replayed, false when it ran now', schema: { type: 'string', enum: ['true', 'false'] } },
  [IDEMPOTENT_REPLAYED_HEADER]: { description: 'Present (true) on replays only', schema: { type: 'string', enum: ['true'] } },
};

/**
 * Makes a route idempotent: one execution per Idempotency-Key, its outcome replayed to every
 * retry. Documents the header and the idempotency problems in OpenAPI too.
 */
export const Idempotent = (options: IdempotentRouteOptions = {}) =>
  applyDecorators(
    SetMetadata(IDEMPOTENT_METADATA, { required: true, ...options }),
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: IDEMPOTENCY_KEY_HEADER,
      required: options.required ?? true,
      description: '1-255 visible ASCII characters, bare or as a structured-field string ("..."). Reuse it for every retry of the same request.',
      schema: { type: 'string', minLength: 1, maxLength: 255 },
    }),
    ApiProblemResponses(400, 409, 422, 503),
  );
