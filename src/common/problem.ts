import { HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export interface FieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem document plus the stable `code` clients switch on. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldError[];
  /** RFC 9457 extension members, e.g. the failed checks of a readiness probe. */
  [extension: string]: unknown;
}

/** Where a client reads what a code means; one URI per code, stable across releases. */
export const problemType = (code: string) => `urn:problem-type:${code.toLowerCase().replaceAll('_', '-')}`;

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
  if (exception instanceof HttpException && exception.getStatus() < 500) {
    const status = exception.getStatus();
    const code = isMalformedJson(exception) ? 'MALFORMED_JSON' : (CODE_BY_STATUS[status] ?? `HTTP_${status}`);
    return {
      problem: { type: problemType(code), title: STATUS_CODES[status] ?? 'Error', status, detail: clientDetail(exception, code), code },
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

function isMalformedJson(exception: HttpException): boolean {
  return (exception.cause as { type?: string } | undefined)?.type === 'entity.parse.failed';
}

/** Framework messages can echo parser internals or the request's own text; these are written for the client instead. */
function clientDetail(exception: HttpException, code: string): string {
  switch (code) {
    case 'MALFORMED_JSON':
      return 'The request body is not valid JSON.';
    case 'PAYLOAD_TOO_LARGE':
      return 'The request body is larger than the service accepts.';
    case 'NOT_FOUND':
      return 'No route matches this method and path.';
    default:
      return exception.message;
  }
}
