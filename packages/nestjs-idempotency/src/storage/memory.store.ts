import { LossSignal, timerDelay } from './lease.js';
import type { BeginResult, IdempotencyLease, IdempotencyStore, LockOptions, StoredResponse } from './idempotency-store.interface.js';

export interface MemoryIdempotencyStoreOptions {
  /**
   * Allow this store under NODE_ENV=production. It keeps records in one process only: another
   * instance, or this one after a restart, runs a retried request again. Default false.
   */
  allowInProduction?: boolean;
}

class MemoryLease implements IdempotencyLease {
  private readonly loss = new LossSignal();
  private readonly holdLimit?: NodeJS.Timeout;
  private settled = false;

  constructor(
    readonly recordId: string,
    private readonly store: MemoryIdempotencyStore,
    maxHoldMs: number,
  ) {
    // A lock in memory never expires on its own; the hold limit frees the key of a hung operation
    // (one beyond setTimeout's largest delay at that delay, 24.8 days).
    if (Number.isFinite(maxHoldMs)) {
      this.holdLimit = setTimeout(() => {
        this.loss.abort(new Error('The lock was held longer than maxLockHoldMs'));
        this.store.unlock(this);
      }, timerDelay(maxHoldMs)).unref();
    }
  }

  get lost(): AbortSignal {
    return this.loss.signal;
  }

  async complete(response: StoredResponse, ttlMs: number): Promise<boolean> {
    return this.settle() && this.store.keep(this, response, ttlMs);
  }

  async release(): Promise<void> {
    if (this.settle()) this.store.unlock(this);
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.holdLimit);
    return true;
  }
}

/**
 * Records and locks in this process's memory: for one process, tests and development (like
 * @nestjs/throttler's in-memory storage). A restart loses both, and other instances do not see
 * them, so IdempotencyModule refuses it under NODE_ENV=production unless `allowInProduction`.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly allowInProduction: boolean;
  private readonly responses = new Map<string, { response: StoredResponse; expiresAt: number; expiry: NodeJS.Timeout }>();
  private readonly locks = new Map<string, MemoryLease>();

  constructor(options: MemoryIdempotencyStoreOptions = {}) {
    this.allowInProduction = options.allowInProduction ?? false;
  }

  async begin(recordId: string, lock: LockOptions): Promise<BeginResult> {
    const stored = this.responses.get(recordId);
    if (stored) return { state: 'stored', stored: stored.response, expiresAt: stored.expiresAt };
    if (this.locks.has(recordId)) return { state: 'in_progress' };
    const lease = new MemoryLease(recordId, this, lock.maxHoldMs);
    this.locks.set(recordId, lease);
    return { state: 'acquired', lease };
  }

  async isLocked(recordId: string): Promise<boolean> {
    return this.locks.has(recordId);
  }

  /**
   * @internal Stores a lease's outcome if it holds the lock or nobody does, and unlocks. An outcome
   * already stored (by a holder that took the lock over and completed) stays.
   */
  keep(lease: MemoryLease, response: StoredResponse, ttlMs: number): boolean {
    const holder = this.locks.get(lease.recordId);
    if (holder !== undefined && holder !== lease) return false;
    this.unlock(lease);
    if (this.responses.has(lease.recordId)) return false;
    // unref: a stored outcome never keeps the process alive. A TTL beyond setTimeout's largest delay is kept that long (24.8 days).
    const expiry = setTimeout(() => this.responses.delete(lease.recordId), timerDelay(ttlMs)).unref();
    this.responses.set(lease.recordId, { response, expiresAt: Date.now() + ttlMs, expiry });
    return true;
  }

  /** @internal */
  unlock(lease: MemoryLease): void {
    if (this.locks.get(lease.recordId) === lease) this.locks.delete(lease.recordId);
  }
}
