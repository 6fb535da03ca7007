import { ExecutionError, Lock, Redlock, ResourceLockedError } from '@sesamecare-oss/redlock';
import type { Redis } from 'ioredis';
import type { BeginResult, IdempotencyStore, LockOptions, StoredResponse } from './idempotency-store.interface.js';
import { RenewedLease } from './lease.js';
import type { RedisClient } from './lua-script.js';
import { recordKeys, type RecordKeys, type RedisIdempotencyStoreOptions } from './redis.store.js';
import { decodeRecord, encodeRecord, logOutages, unavailable } from './store-common.js';

class RedlockLease extends RenewedLease {
  constructor(
    recordId: string,
    private readonly lockOptions: LockOptions,
    private held: Lock,
    private readonly redlock: Redlock,
    private readonly redis: RedisClient,
    private readonly keys: RecordKeys,
  ) {
    super(recordId, lockOptions, held.expiration);
  }

  /**
   * The outcome and the lock live on different servers, so no one script compares and stores: the
   * lock is made sure of first (extended while it is this owner's, else taken again if nobody holds
   * it), then the outcome is stored within its validity, unless one is stored already (by a holder
   * that took the expired lock over and completed), and the lock released.
   */
  protected async storeAndRelease(response: StoredResponse, ttlMs: number): Promise<boolean> {
    if (!(await this.holdAgain())) return false;
    try {
      return (await this.redis.set(this.keys.response, encodeRecord(response), 'PX', ttlMs, 'NX').catch(unavailable)) === 'OK';
    } finally {
      await this.releaseLock().catch(() => undefined);
    }
  }

  protected async extendLock(ttlMs: number): Promise<number> {
    this.held = await this.held.extend(ttlMs);
    return this.held.expiration;
  }

  protected async releaseLock(): Promise<void> {
    await this.held.release();
  }

  /** True once this owner holds the lock for another TTL; false when another holder took it over. */
  private async holdAgain(): Promise<boolean> {
    try {
      await this.extendLock(this.lockOptions.lockTtlMs);
      return true;
    } catch {
      // Not extended: the lock expired (or the nodes did not answer); taken again unless someone else holds it.
      try {
        this.held = await this.redlock.acquire([this.keys.lock], this.lockOptions.lockTtlMs);
        return true;
      } catch (error) {
        if (await heldBySomeoneElse(error)) return false;
        unavailable(error);
      }
    }
  }
}

/**
 * Outcomes in one Redis (or Cluster), locks as a Redlock quorum over independent Redis nodes: the
 * lock survives the loss of a minority of them. Costs more round trips than RedisIdempotencyStore
 * (look, lock on every node, look again under the lock; extend on every node, store, then release
 * on every node).
 */
export class RedlockIdempotencyStore implements IdempotencyStore {
  private readonly redlock: Redlock;
  private readonly keyPrefix?: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly lockClients: Redis[],
    options: RedisIdempotencyStoreOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix;
    for (const client of [redis, ...lockClients]) logOutages(client, 'RedlockIdempotencyStore', 'Redis', 'ready');
    // No retries inside Redlock: a held lock is answered (409 or wait mode) by the caller's policy.
    this.redlock = new Redlock(lockClients, { retryCount: 0, driftFactor: 0.01 });
  }

  async begin(recordId: string, lockOptions: LockOptions): Promise<BeginResult> {
    const keys = recordKeys(recordId, this.keyPrefix);
    const earlier = await this.find(keys);
    if (earlier) return { state: 'stored', stored: earlier };
    let lock: Lock;
    try {
      lock = await this.redlock.acquire([keys.lock], lockOptions.lockTtlMs);
    } catch (error) {
      if (await heldBySomeoneElse(error)) return { state: 'in_progress' };
      unavailable(error);
    }
    const lease = new RedlockLease(recordId, lockOptions, lock, this.redlock, this.redis, keys);
    try {
      // Re-check under the lock: another holder may have stored an outcome since the first look.
      const stored = await this.find(keys);
      if (!stored) return { state: 'acquired', lease };
      await lease.release();
      return { state: 'stored', stored };
    } catch (error) {
      await lease.release();
      throw error;
    }
  }

  /**
   * Held when a majority of the lock nodes hold it. A node that does not answer may hold it; with
   * fewer answers than a majority the answer is unknown, and that rejects (fail closed).
   */
  async isLocked(recordId: string): Promise<boolean> {
    const key = recordKeys(recordId, this.keyPrefix).lock;
    const answers = await Promise.allSettled(this.lockClients.map((client) => client.exists(key)));
    const majority = Math.floor(this.lockClients.length / 2) + 1;
    const unanswered = answers.filter((answer) => answer.status === 'rejected');
    if (answers.length - unanswered.length < majority) unavailable(unanswered[0]!.reason);
    const free = answers.filter((answer) => answer.status === 'fulfilled' && answer.value === 0).length;
    return answers.length - free >= majority;
  }

  private async find(keys: RecordKeys): Promise<StoredResponse | undefined> {
    const raw = await this.redis.get(keys.response).catch(unavailable);
    return raw ? decodeRecord(raw) : undefined;
  }
}

/** Redlock reports "someone holds it" and "nodes unreachable" alike; the votes tell them apart. */
async function heldBySomeoneElse(error: unknown): Promise<boolean> {
  if (!(error instanceof ExecutionError)) return false;
  const attempts = await Promise.all(error.attempts);
  return attempts.some((attempt) => [...attempt.votesAgainst.values()].some((vote) => vote instanceof ResourceLockedError));
}
