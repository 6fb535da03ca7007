export interface IdempotencyModuleOptions {
  /** TTL of definitive outcomes (successes, declines). */
  resultTtlMs: number;
  /** TTL of transient failures (5xx): retries within it get the stored error. */
  errorTtlMs: number;
  /** Lock TTL; the holder extends it while running, so it only matters after a crash. */
  lockTtlMs: number;
  /** Wait mode: how long a concurrent duplicate waits for the outcome; 0 answers 409 at once. */
  waitTimeoutMs: number;
  /** Retry-After (seconds) sent with 409 REQUEST_IN_PROGRESS and 503 store unavailable. */
  retryAfterSeconds: number;
}
