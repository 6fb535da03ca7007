import { HttpException, HttpStatus, Logger } from '@nestjs/common';
import { problemType, type ProblemDocument as IdempotencyProblemDocument } from '@idempotent-payments/nestjs-idempotency';
import { STATUS_CODES } from 'node:http';

// The idempotency layer's answers and the service's own errors are one kind of document to clients: one media type, one type URI per code.
export { PROBLEM_CONTENT_TYPE } from '@idempotent-payments/nestjs-idempotency';

export interface FieldError {
  field: string;
  message: string;
}

/** The idempotency layer's problem document (RFC 9457 plus `code`) with the service's extensions. */
export interface ProblemDocument extends IdempotencyProblemDocument {
  errors?: FieldError[];
  /** RFC 9457 extension members, e.g. the failed checks of a readiness probe. */
  [extension: string]: unknown;
}

/** An error the service raises on purpose: its code, detail and headers reach the client as they are. */
export class ProblemException extends HttpException {
  constructor(
    status: number,
    readonly code: string,
    detail: string,
    readonly extras: { errors?: FieldError[]; extensions?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(detail, status, { cause: extras.cause });
  }
}

/** Codes for errors that frameworks raise (routing, body parsing) rather than our own code. */
const CODE_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_ENTITY',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_ERROR',
  503: 'SERVICE_UNAVAILABLE',
};

const logger = new Logger('Problem');

export interface ProblemResponse {
  problem: ProblemDocument;
  headers: Record<string, string>;
}

/**
 * Turns anything thrown into the problem the client sees. Only ProblemException details are
 * ours to show; other errors get a generic text, so no internal message or stack leaks.
 */
export function toProblem(exception: unknown): ProblemResponse {
  if (exception instanceof ProblemException) {
    const status = exception.getStatus();
    return {
      problem: {
        type: problemType(exception.code),
        title: STATUS_CODES[status] ?? 'Error',
        status,
        detail: exception.message,
        code: exception.code,
        ...(exception.extras.errors ? { errors: exception.extras.errors } : {}),
        ...exception.extras.extensions,
      },
      headers: exception.extras.headers ?? {},
    };
  }
  const clientError = clientErrorOf(exception);
  if (clientError) {
    const { status, malformedJson, message } = clientError;
    const code = malformedJson ? 'MALFORMED_JSON' : (CODE_BY_STATUS[status] ?? `HTTP_${status}`);
    return {
      problem: { type: problemType(code), title: STATUS_CODES[status] ?? 'Error', status, detail: clientDetail(message, code), code },
      headers: {},
    };
  }
  logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
  const status = HttpStatus.INTERNAL_SERVER_ERROR;
  return {
    problem: {
      type: problemType('INTERNAL_ERROR'),
      title: STATUS_CODES[status]!,
      status,
      detail: 'The service failed unexpectedly; the failure was logged.',
      code: 'INTERNAL_ERROR',
    },
    headers: {},
  };
}

/**
 * A 4xx the framework raised: an HttpException (Express's body parser errors arrive as one), or an
 * error with a `statusCode` (Fastify's body parsing and limits).
 */
function clientErrorOf(exception: unknown): { status: number; malformedJson: boolean; message: string } | undefined {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    return status < 500 ? { status, malformedJson: isJsonParseError(exception.cause), message: exception.message } : undefined;
  }
  const { statusCode } = (exception ?? {}) as { statusCode?: unknown };
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode >= 500) return undefined;
  return { status: statusCode, malformedJson: isJsonParseError(exception), message: exception instanceof Error ? exception.message : '' };
}

/** Express's body parser marks its parse errors with a `type`; Fastify's carry codes; both may be a SyntaxError. */
function isJsonParseError(error: unknown): boolean {
  const { type, code } = (error ?? {}) as { type?: unknown; code?: unknown };
  return error instanceof SyntaxError || type === 'entity.parse.failed' || code === 'FST_ERR_CTP_INVALID_JSON_BODY' || code === 'FST_ERR_CTP_EMPTY_JSON_BODY';
}

/** Framework messages can echo parser internals or the request's own text; these are written for the client instead. */
function clientDetail(message: string, code: string): string {
  switch (code) {
    case 'MALFORMED_JSON':
      return 'The request body is not valid JSON.';
    case 'PAYLOAD_TOO_LARGE':
      return 'The request body is larger than the service accepts.';
    case 'NOT_FOUND':
      return 'No route matches this method and path.';
    default:
      return message;
  }
}
