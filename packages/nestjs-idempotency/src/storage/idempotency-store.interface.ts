import type { WireResponse } from '../idempotency.exceptions.js';

/** An outcome as it went out on the wire, replayed byte for byte. */
export interface StoredResponse extends WireResponse {
  /** Fingerprint of the request that produced it: another body under the same key is refused. */
  fingerprint: string;
  storedAt: string;
}

/** Proof of holding a record's lock. `lost` aborts if the lock could not be kept alive. */
export interface IdempotencyLease {
  readonly recordId: string;
  readonly lost: AbortSignal;
}

/**
 * What `begin` found: the lock, now held by the caller; an outcome stored earlier; or the lock held
 * by someone else (answered, not thrown: a retry storm on one key is this path, so it stays cheap).
 */
export type BeginResult = { state: 'acquired'; lease: IdempotencyLease } | { state: 'stored'; stored: StoredResponse } | { state: 'in_progress' };

/**
 * Storage of idempotency records and their locks. Implementations fail closed: any doubt about
 * the store rejects with IdempotencyStoreUnavailableError, so the operation does not run. A lock
 * is kept alive (extended) by its lease until `complete` or `abandon`, so its TTL only matters
 * after a crash.
 */
export interface IdempotencyStore {
  /**
   * The record's stored outcome if there is one, else its lock for `lockTtlMs`, taken so that no
   * outcome can be stored by anyone else meanwhile; `in_progress` while someone else holds it.
   */
  begin(recordId: string, lockTtlMs: number): Promise<BeginResult>;
  /** Stores the outcome for `ttlMs`, then releases the lock (only if still its owner). */
  complete(lease: IdempotencyLease, response: StoredResponse, ttlMs: number): Promise<void>;
  /** Releases the lock without storing anything; the key is free again. */
  abandon(lease: IdempotencyLease): Promise<void>;
  /** Whether someone holds the record's lock now: a live execution, or one that crashed within its lock TTL. */
  isLocked(recordId: string): Promise<boolean>;
}

export const IDEMPOTENCY_STORE = Symbol('IDEMPOTENCY:STORE');
