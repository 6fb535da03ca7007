import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiResponse } from '@nestjs/swagger';
import { IDEMPOTENCY_CACHED_HEADER, IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER } from '../idempotency.constants.js';
import { PROBLEM_CONTENT_TYPE } from '../idempotency.exceptions.js';

/** Response headers of an idempotent route, for its success responses' `headers`. */
export const IDEMPOTENCY_RESPONSE_HEADERS = {
  [IDEMPOTENCY_CACHED_HEADER]: {
    description: 'true when this is a stored outcome replayed, false when it ran now',
    schema: { type: 'string', enum: ['true', 'false'] },
  },
  [IDEMPOTENT_REPLAYED_HEADER]: { description: 'Present (true) on replays only', schema: { type: 'string', enum: ['true'] } },
};

const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status', 'code'],
  properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, code: { type: 'string' } },
};

const LAYER_ANSWERS: Array<[number, string]> = [
  [400, `${IDEMPOTENCY_KEY_HEADER} missing (IDEMPOTENCY_KEY_MISSING) or malformed (IDEMPOTENCY_KEY_INVALID)`],
  [409, 'A request with this key is still running (REQUEST_IN_PROGRESS); retry after Retry-After'],
  [422, 'The key was used with another request body (IDEMPOTENCY_KEY_REUSED)'],
  [503, 'The idempotency store is unreachable (IDEMPOTENCY_STORE_UNAVAILABLE); nothing ran; retry after Retry-After'],
];

const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } } };

/**
 * OpenAPI for an `@Idempotent()` route: the Idempotency-Key header and the layer's problem
 * answers. `problemSchema` replaces the generic problem schema (e.g. the app's own, by $ref);
 * `responses: false` leaves the answers to the app's own documentation.
 */
export const ApiIdempotent = (options: { required?: boolean; problemSchema?: Record<string, unknown>; responses?: boolean } = {}) =>
  applyDecorators(
    ApiHeader({
      name: IDEMPOTENCY_KEY_HEADER,
      required: options.required ?? true,
      description: '1-255 visible ASCII characters, bare or as a structured-field string ("..."). Reuse it for every retry of the same request.',
      schema: { type: 'string', minLength: 1, maxLength: 255 },
    }),
    ...(options.responses === false ? [] : LAYER_ANSWERS).map(([status, description]) =>
      ApiResponse({
        status,
        description,
        content: { [PROBLEM_CONTENT_TYPE.split(';')[0]!]: { schema: options.problemSchema ?? PROBLEM_SCHEMA } },
        ...(status === 409 || status === 503 ? { headers: RETRY_AFTER } : {}),
      }),
    ),
  );
