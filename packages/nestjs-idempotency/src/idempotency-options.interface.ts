import type { ExecutionContext } from '@nestjs/common';
import type { ProblemResponse } from './idempotency.exceptions.js';
import type { IdempotencyReport } from './idempotency-report.js';
import type { IdempotencyStore } from './storage/idempotency-store.interface.js';

/** `IdempotencyModule.forRoot(options)`: every option is optional; defaults follow CONTRACT section 2. */
export interface IdempotencyModuleOptions {
  /** Where records and locks live. Default: a MemoryIdempotencyStore (one process, tests, development). */
  store?: IdempotencyStore;
  /** TTL of definitive outcomes (successes, declines). Default 24 h. */
  resultTtlMs?: number;
  /** TTL of transient failures (5xx): retries within it get the stored error. Default 30 s. */
  errorTtlMs?: number;
  /** Lock TTL; the holder extends it while running, so it only matters after a crash. Default 30 s. */
  lockTtlMs?: number;
  /** Wait mode: how long a concurrent duplicate waits for the outcome; 0 (default) answers 409 at once. */
  waitTimeoutMs?: number;
  /** Retry-After (seconds) sent with 409 REQUEST_IN_PROGRESS and 503 store unavailable. Default 1. */
  retryAfterSeconds?: number;
  /**
   * Response headers stored with an outcome and replayed. Default `location`, `etag`, `link`.
   * `set-cookie` and credentials are never stored, whatever this lists.
   */
  replayedHeaders?: string[];
  /**
   * Who owns a key: requests of different owners never share an outcome. Default: the
   * authenticated principal on the request (`request.user`, as Passport sets it: a string, or an
   * object's `id` or `sub`), else `anonymous`.
   */
  getScope?: (context: ExecutionContext) => string;
  /** Called once per request with what the layer did, for metrics and logs. */
  onOutcome?: (report: IdempotencyReport, context: ExecutionContext) => void;
  /**
   * Maps an error a handler threw to the problem stored and replayed for it. Default: an
   * HttpException's status and message; anything else is a 500.
   */
  toProblem?: (error: unknown) => ProblemResponse;
}

export type ResolvedIdempotencyOptions = Required<Omit<IdempotencyModuleOptions, 'onOutcome'>> & Pick<IdempotencyModuleOptions, 'onOutcome'>;
