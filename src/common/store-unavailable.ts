import { ProblemException } from './problem.js';

/**
 * Business data lives in the same Redis as the idempotency records. When it cannot be reached,
 * the request is refused as retryable (503, not stored), never reported as an unexpected 500.
 */
export async function fromStore<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    throw new ProblemException(503, 'STORE_UNAVAILABLE', 'The data store is unreachable; retry later with the same key.', {
      headers: { 'Retry-After': '1' },
      cause: error,
    });
  }
}
