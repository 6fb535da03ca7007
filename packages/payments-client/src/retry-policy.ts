/**
 * What a retry can change: the service was busy with the same key (409), limited the caller (429),
 * could not reach its store or database (503), or kept a transient failure for a short while
 * (500, 502, 504; replayed until it expires, then the key runs again). Everything else is final.
 */
const RETRYABLE_STATUSES = new Set([409, 429, 500, 502, 503, 504]);

export function isRetryable(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

export interface Backoff {
  /** The first retry waits up to this long. Default 100 ms. */
  baseMs: number;
  /** No single wait is longer. Default 5 s. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 100, maxMs: 5000 };

/**
 * The wait before the next attempt: "full jitter" (a random time up to an exponentially growing
 * cap), so clients that failed together do not retry together; on top of the server's Retry-After
 * when it sent one, which is the earliest the answer can change.
 */
export function delayBeforeRetry(failedAttempts: number, retryAfterMs: number | undefined, backoff: Backoff, random = Math.random): number {
  const cap = Math.min(backoff.maxMs, backoff.baseMs * 2 ** (failedAttempts - 1));
  return (retryAfterMs ?? 0) + Math.round(random() * cap);
}

/** Retry-After in seconds or as an HTTP date, in ms from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
