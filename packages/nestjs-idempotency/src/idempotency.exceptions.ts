import { HttpException } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

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
  detail: string;
  code: string;
}

/** One URI per code, stable across releases. */
export const problemType = (code: string) => `urn:problem-type:${code.toLowerCase().replaceAll('_', '-')}`;

/**
 * An answer of the idempotency layer itself (400, 409, 422, 503), with a stable `code`. An
 * HttpException whose response is the problem document, so an app that hands these to its own
 * exception filters (`errorResponses: 'exception-filters'`) keeps status and code; the function API
 * throws it to its caller. `headers` (Retry-After) go out with it either way.
 */
export class IdempotencyError extends HttpException {
  constructor(
    status: number,
    readonly code: string,
    detail: string,
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super({ type: problemType(code), title: STATUS_CODES[status] ?? 'Error', status, detail, code } satisfies ProblemDocument, status, options);
    this.message = detail;
    this.name = new.target.name;
  }

  toProblem(): ProblemDocument {
    return this.getResponse() as ProblemDocument;
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

/** 503: the store could not be asked or written in time; the operation did not run, or its outcome is not stored. */
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
 * `@Idempotent()` binds to the route, so no exception filter of the app reshapes it.
 */
export class IdempotentResponse {
  constructor(
    readonly wire: WireResponse,
    /** A stored outcome: sent with `Idempotency-Cached: true` and `Idempotent-Replayed: true`. */
    readonly replay = false,
    /** `wire.body` is base64. */
    readonly binary = false,
  ) {}

  static of(error: IdempotencyError): IdempotentResponse {
    return new IdempotentResponse({
      status: error.getStatus(),
      headers: { ...error.headers, 'content-type': PROBLEM_CONTENT_TYPE },
      body: JSON.stringify(error.toProblem()),
    });
  }
}

/** 500: a stored outcome could not be opened (its encryption key is gone, or it was altered); nothing runs again. */
export class IdempotencyRecordUnreadableError extends IdempotencyError {
  constructor(cause: unknown) {
    super(500, 'IDEMPOTENCY_RECORD_UNREADABLE', 'The stored outcome for this Idempotency-Key cannot be read; it was not run again.', {}, { cause });
  }
}
