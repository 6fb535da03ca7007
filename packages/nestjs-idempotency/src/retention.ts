import type { StoreIf } from './idempotency-options.interface.js';

/**
 * How long an outcome is kept, by its status:
 * - `result`: definitive outcomes a retry cannot change (2xx, a decline 402, other business 4xx);
 * - `error`: transient failures (5xx) that a later retry may fix, kept briefly to absorb retry storms;
 * - `none`: rejections of the request itself (validation, auth, rate limit, idempotency errors) and
 *   an unreachable store (503): nothing ran, so the key stays free for a corrected request.
 */
export type Retention = 'result' | 'error' | 'none';

const NOT_STORED = new Set([400, 401, 403, 405, 408, 409, 413, 415, 422, 429, 503]);

export function retentionFor(status: number): Retention {
  if (NOT_STORED.has(status)) return 'none';
  return status >= 500 ? 'error' : 'result';
}

export interface RetentionPolicy {
  resultTtlMs: number;
  errorTtlMs: number;
  storeIf?: StoreIf;
}

/** The TTL for an outcome, or undefined when it is not stored. */
export function ttlFor(status: number, error: unknown, policy: RetentionPolicy): number | undefined {
  if (policy.storeIf ? !policy.storeIf(status, error) : retentionFor(status) === 'none') return undefined;
  return status >= 500 ? policy.errorTtlMs : policy.resultTtlMs;
}
