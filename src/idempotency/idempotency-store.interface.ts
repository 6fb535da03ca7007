/** An outcome as it went out on the wire, replayed byte for byte. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Fingerprint of the request that produced it: another body under the same key is refused. */
  fingerprint: string;
  storedAt: string;
}

/** Proof of holding a record's lock. `lost` aborts if the lock could not be kept alive. */
export interface IdempotencyLease {
  readonly recordId: string;
  readonly lost: AbortSignal;
}

export type BeginResult = { lease: IdempotencyLease; stored?: never } | { stored: StoredResponse; lease?: never };

/**
 * Storage of idempotency records and their locks. Implementations must fail closed: any doubt
 * about the store throws IdempotencyStoreUnavailableError, so the operation does not run.
 */
export interface IdempotencyStore {
  /**
   * The record's stored outcome if there is one, else its lock, taken so that no outcome can be
   * stored by anyone else meanwhile. Throws IdempotencyLockHeldError while someone else holds it.
   */
  begin(recordId: string): Promise<BeginResult>;
  /** Stores the outcome for `ttlMs`, then releases the lock. */
  complete(lease: IdempotencyLease, response: StoredResponse, ttlMs: number): Promise<void>;
  /** Releases the lock without storing anything; the key is free again. */
  abandon(lease: IdempotencyLease): Promise<void>;
}

export const IDEMPOTENCY_STORE = Symbol('IDEMPOTENCY:STORE');

export class IdempotencyLockHeldError extends Error {
  constructor(readonly recordId: string) {
    super('Another request with this idempotency key is in progress');
  }
}

export class IdempotencyStoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super('The idempotency store is unreachable', { cause });
  }
}
