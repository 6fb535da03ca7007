import { ExecutionError, Lock, Redlock, ResourceLockedError } from '@sesamecare-oss/redlock';
import type { Redis } from 'ioredis';
import type { BeginResult, IdempotencyLease, IdempotencyStore, StoredResponse } from './idempotency-store.interface.js';
import { RenewedLease } from './lease.js';
import type { RedisClient } from './lua-script.js';
import { RedisIdempotencyStore, unavailable, type RedisIdempotencyStoreOptions } from './redis.store.js';

class RedlockLease extends RenewedLease {
  constructor(
    recordId: string,
    public lock: Lock,
    ttlMs: number,
  ) {
    super(recordId, ttlMs, lock.expiration);
  }

  protected async extendLock(ttlMs: number): Promise<number> {
    this.lock = await this.lock.extend(ttlMs);
    return this.lock.expiration;
  }
}

/**
 * Outcomes in one Redis (or Cluster), locks as a Redlock quorum over independent Redis nodes: the
 * lock survives the loss of a minority of them. Costs more round trips than RedisIdempotencyStore
 * (look, lock on every node, look again under the lock; store, then release on every node).
 */
export class RedlockIdempotencyStore implements IdempotencyStore {
  private readonly records: RedisIdempotencyStore;
  private readonly redlock: Redlock;

  constructor(
    private readonly redis: RedisClient,
    private readonly lockClients: Redis[],
    options: RedisIdempotencyStoreOptions = {},
  ) {
    this.records = new RedisIdempotencyStore(redis, options);
    // No retries inside Redlock: a held lock is answered (409 or wait mode) by the caller's policy.
    this.redlock = new Redlock(lockClients, { retryCount: 0, driftFactor: 0.01 });
  }

  async begin(recordId: string, lockTtlMs: number): Promise<BeginResult> {
    const earlier = await this.find(recordId);
    if (earlier) return { state: 'stored', stored: earlier };
    let lock: Lock;
    try {
      lock = await this.redlock.acquire([this.records.lockKey(recordId)], lockTtlMs);
    } catch (error) {
      if (await heldBySomeoneElse(error)) return { state: 'in_progress' };
      unavailable(error);
    }
    const lease = new RedlockLease(recordId, lock, lockTtlMs);
    try {
      // Re-check under the lock: another holder may have stored an outcome since the first look.
      const stored = await this.find(recordId);
      if (!stored) return { state: 'acquired', lease };
      await this.abandon(lease);
      return { state: 'stored', stored };
    } catch (error) {
      await this.abandon(lease);
      throw error;
    }
  }

  async complete(lease: IdempotencyLease, response: StoredResponse, ttlMs: number): Promise<void> {
    try {
      await this.redis.set(this.records.responseKey(lease.recordId), JSON.stringify(response), 'PX', ttlMs).catch(unavailable);
    } finally {
      await this.abandon(lease);
    }
  }

  async abandon(lease: IdempotencyLease): Promise<void> {
    const held = lease as RedlockLease;
    // A failed release only means the lock lives until its TTL.
    if (await held.settle()) await held.lock.release().catch(() => undefined);
  }

  /**
   * Held when a majority of the lock nodes hold it. A node that does not answer may hold it; with
   * fewer answers than a majority the answer is unknown, and that rejects (fail closed).
   */
  async isLocked(recordId: string): Promise<boolean> {
    const key = this.records.lockKey(recordId);
    const answers = await Promise.allSettled(this.lockClients.map((client) => client.exists(key)));
    const majority = Math.floor(this.lockClients.length / 2) + 1;
    const unanswered = answers.filter((answer) => answer.status === 'rejected');
    if (answers.length - unanswered.length < majority) unavailable(unanswered[0]!.reason);
    const free = answers.filter((answer) => answer.status === 'fulfilled' && answer.value === 0).length;
    return answers.length - free >= majority;
  }

  private async find(recordId: string): Promise<StoredResponse | undefined> {
    const raw = await this.redis.get(this.records.responseKey(recordId)).catch(unavailable);
    return raw ? (JSON.parse(raw) as StoredResponse) : undefined;
  }
}

/** Redlock reports "someone holds it" and "nodes unreachable" alike; the votes tell them apart. */
async function heldBySomeoneElse(error: unknown): Promise<boolean> {
  if (!(error instanceof ExecutionError)) return false;
  const attempts = await Promise.all(error.attempts);
  return attempts.some((attempt) => [...attempt.votesAgainst.values()].some((vote) => vote instanceof ResourceLockedError));
}
