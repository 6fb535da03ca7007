import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';

class FieldErrorSchema {
  @ApiProperty({ example: 'amount' })
  field: string;

  @ApiProperty({ example: 'amount must not be less than 1' })
  message: string;
}

/** The RFC 9457 problem document every error of the service is. */
export class ProblemDocumentSchema {
  @ApiProperty({ example: 'urn:problem-type:idempotency-key-reused' })
  type: string;

  @ApiProperty({ example: 'Unprocessable Entity' })
  title: string;

  @ApiProperty({ example: 422 })
  status: number;

  @ApiProperty({ example: 'This Idempotency-Key was already used with a different request body.' })
  detail: string;

  @ApiProperty({ description: 'Stable UPPER_SNAKE identifier to switch on', example: 'IDEMPOTENCY_KEY_REUSED' })
  code: string;

  @ApiPropertyOptional({ type: [FieldErrorSchema], description: 'Validation errors, one per field' })
  errors?: FieldErrorSchema[];
}

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request: VALIDATION_FAILED, MALFORMED_JSON, IDEMPOTENCY_KEY_MISSING, IDEMPOTENCY_KEY_INVALID',
  401: 'UNAUTHENTICATED (merchant routes), ADMIN_TOKEN_INVALID (admin routes) or WEBHOOK_SIGNATURE_INVALID (webhooks)',
  402: 'CARD_DECLINED: final for this order; replayed to retries',
  404: 'ORDER_NOT_FOUND, PAYMENT_NOT_FOUND, RECEIPT_NOT_FOUND or NOT_FOUND',
  409: 'REQUEST_IN_PROGRESS: a request with this key is running; see Retry-After',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE: webhooks are application/json',
  422: 'IDEMPOTENCY_KEY_REUSED: the key was used with another body',
  429: 'RATE_LIMITED: see Retry-After',
  502: 'PAYMENT_PROVIDER_UNAVAILABLE: nothing was charged; replayed for the error TTL (a replay says how long in Retry-After), then the same key resumes',
  503: 'IDEMPOTENCY_STORE_UNAVAILABLE (Redis or PostgreSQL), DATABASE_UNAVAILABLE or NOT_READY: retry later with the same key (Retry-After)',
};

/** Documents the problem responses a route can give, as application/problem+json. */
export const ApiProblemResponses = (...statuses: number[]) =>
  applyDecorators(
    ApiExtraModels(ProblemDocumentSchema),
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: PROBLEM_DESCRIPTIONS[status] ?? STATUS_CODES[status],
        content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDocumentSchema) } } },
        ...(status === 409 || status === 429 || status === 502 || status === 503
          ? { headers: { 'Retry-After': { description: 'Seconds to wait before retrying (on a 502, its replays only)', schema: { type: 'integer' } } } }
          : {}),
      }),
    ),
  );
