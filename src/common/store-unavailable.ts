import { ProblemException } from './problem.js';

/**
 * The idempotency store (Redis over PostgreSQL) unreachable, wherever it struck: 503, not stored,
 * retry later with the same key.
 */
export function storeUnavailable(detail: string, options: { cause?: unknown; retryAfterSeconds?: number } = {}): ProblemException {
  return new ProblemException(503, 'IDEMPOTENCY_STORE_UNAVAILABLE', detail, {
    headers: { 'Retry-After': String(options.retryAfterSeconds ?? 1) },
    cause: options.cause,
  });
}

/** The rate limits share the Redis of the idempotency locks; its failures are refused the same way. */
export async function fromStore<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    throw storeUnavailable('The data store is unreachable; retry later with the same key.', { cause: error });
  }
}
