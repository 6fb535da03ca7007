import type { BeginResult, IdempotencyLease, IdempotencyStore, StoredResponse } from './idempotency-store.interface.js';

const NEVER_LOST = new AbortController().signal;
/** setTimeout's largest delay; a longer TTL is kept that long (24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Records and locks in this process's memory: for one process, tests and development (like
 * @nestjs/throttler's in-memory storage). A crash loses both, so it makes no promise across
 * restarts or instances; use RedisIdempotencyStore for that. Locks live until their operation
 * settles, as an extended lock would.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly responses = new Map<string, { response: StoredResponse; expiry: NodeJS.Timeout }>();
  private readonly locks = new Map<string, IdempotencyLease>();

  async begin(recordId: string): Promise<BeginResult> {
    const stored = this.responses.get(recordId);
    if (stored) return { state: 'stored', stored: stored.response };
    if (this.locks.has(recordId)) return { state: 'in_progress' };
    const lease: IdempotencyLease = { recordId, lost: NEVER_LOST };
    this.locks.set(recordId, lease);
    return { state: 'acquired', lease };
  }

  async complete(lease: IdempotencyLease, response: StoredResponse, ttlMs: number): Promise<void> {
    clearTimeout(this.responses.get(lease.recordId)?.expiry);
    // unref: a stored outcome never keeps the process alive.
    const expiry = setTimeout(() => this.responses.delete(lease.recordId), Math.min(ttlMs, MAX_TIMER_MS)).unref();
    this.responses.set(lease.recordId, { response, expiry });
    await this.abandon(lease);
  }

  async abandon(lease: IdempotencyLease): Promise<void> {
    if (this.locks.get(lease.recordId) === lease) this.locks.delete(lease.recordId);
  }

  async isLocked(recordId: string): Promise<boolean> {
    return this.locks.has(recordId);
  }
}
