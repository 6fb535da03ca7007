import { HttpException, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** A response in its wire form: status, lower-case headers, body text. */
export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** An RFC 9457 problem document; `code` is the stable identifier clients switch on. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code?: string;
  [extension: string]: unknown;
}

/** What an error becomes when its outcome is stored: the problem and the headers sent with it. */
export interface ProblemResponse {
  problem: { status: number; [member: string]: unknown };
  headers?: Record<string, string>;
}

/** One URI per code, stable across releases. */
export const problemType = (code: string) => `urn:problem-type:${code.toLowerCase().replaceAll('_', '-')}`;

/**
 * An error of the idempotency layer itself, with the status and `code` of CONTRACT section 2. The
 * interceptor answers it as a problem document; the function-level API throws it to its caller.
 */
export class IdempotencyError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly headers: Record<string, string> = {},
    options?: ErrorOptions,
  ) {
    super(detail, options);
    this.name = new.target.name;
  }

  toProblem(): ProblemDocument {
    return { type: problemType(this.code), title: STATUS_CODES[this.status] ?? 'Error', status: this.status, detail: this.message, code: this.code };
  }
}

/** 409: another execution with this key holds the lock. */
export class IdempotencyConflictError extends IdempotencyError {
  constructor(retryAfterSeconds: number) {
    super(409, 'REQUEST_IN_PROGRESS', 'A request with this Idempotency-Key is still in progress; retry later.', { 'retry-after': String(retryAfterSeconds) });
  }
}

/** 422: the key was used before with another payload; the operation does not run. */
export class IdempotencyKeyReusedError extends IdempotencyError {
  constructor() {
    super(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different request body; use a new key for a new request.');
  }
}

/** 503: the store could not be asked or written; the operation did not run, or its outcome is not stored. */
export class IdempotencyStoreUnavailableError extends IdempotencyError {
  constructor(cause: unknown, retryAfterSeconds = 1) {
    super(
      503,
      'IDEMPOTENCY_STORE_UNAVAILABLE',
      'The idempotency store is unreachable; retry later with the same key.',
      { 'retry-after': String(retryAfterSeconds) },
      { cause },
    );
  }
}

/** 400: the Idempotency-Key header is absent, malformed or repeated, or the body cannot be fingerprinted. */
export class IdempotencyRequestError extends IdempotencyError {
  constructor(code: 'IDEMPOTENCY_KEY_MISSING' | 'IDEMPOTENCY_KEY_INVALID' | 'BODY_TOO_DEEP', detail: string) {
    super(400, code, detail);
  }
}

/**
 * A complete answer for the client: a replay, or a problem of the layer. Thrown (it is not an
 * Error, so no stack is captured) and sent as it is by IdempotentResponseFilter, which
 * `@Idempotent()` binds to the route, so no exception filter of the app can reshape it.
 */
export class IdempotentResponse {
  constructor(readonly wire: WireResponse) {}

  static of(error: IdempotencyError): IdempotentResponse {
    return new IdempotentResponse({
      status: error.status,
      headers: { ...error.headers, 'content-type': PROBLEM_CONTENT_TYPE },
      body: JSON.stringify(error.toProblem()),
    });
  }
}

const logger = new Logger('Idempotency');

/**
 * The default mapping of a handler's error to the problem that is stored and replayed: an
 * HttpException keeps its status, and below 500 its message; anything else is a 500. Details of a
 * 5xx are logged, never sent.
 */
export function defaultToProblem(error: unknown): ProblemResponse {
  const status = error instanceof HttpException ? error.getStatus() : 500;
  if (status >= 500) logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  const title = STATUS_CODES[status] ?? 'Error';
  const code = status === 500 ? 'INTERNAL_ERROR' : title.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
  const detail = status < 500 && error instanceof Error ? error.message : 'The operation failed unexpectedly; the failure was logged.';
  return { problem: { type: problemType(code), title, status, detail, code } };
}
