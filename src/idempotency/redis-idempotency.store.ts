import { Inject, Injectable } from '@nestjs/common';
import { ExecutionError, Lock, Redlock, ResourceLockedError } from '@sesamecare-oss/redlock';
import { REDIS_CLIENT, REDIS_LOCK_CLIENTS, type RedisClient } from '../redis/index.js';
import { IDEMPOTENCY_MODULE_OPTIONS } from './idempotency.constants.js';
import type { IdempotencyModuleOptions } from './idempotency-module-options.interface.js';
import {
  BeginResult,
  IdempotencyLease,
  IdempotencyLockHeldError,
  IdempotencyStore,
  IdempotencyStoreUnavailableError,
  StoredResponse,
} from './idempotency-store.interface.js';

/** One hash tag per record, so its keys share a Redis Cluster slot. */
export const responseKey = (recordId: string) => `idempotency:{${recordId}}:response`;
export const lockKey = (recordId: string) => `idempotency:{${recordId}}:lock`;

/**
 * Records in Redis, locks through Redlock (a quorum over REDIS_LOCK_URLS, or the one store).
 * The lock is an NX key with an owner token, released by compare-and-delete, and extended while
 * the operation runs, so its TTL only bounds how long a crashed holder blocks the key.
 */
@Injectable()
export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly redlock: Redlock;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(REDIS_LOCK_CLIENTS) lockClients: RedisClient[],
    @Inject(IDEMPOTENCY_MODULE_OPTIONS) private readonly options: IdempotencyModuleOptions,
  ) {
    // No retries inside Redlock: a held lock is answered (409 or wait mode) by the caller's policy.
    this.redlock = new Redlock(lockClients, { retryCount: 0, driftFactor: 0.01 });
  }

  async find(recordId: string): Promise<StoredResponse | undefined> {
    const raw = await this.redis.get(responseKey(recordId)).catch(unavailable);
    return raw ? (JSON.parse(raw) as StoredResponse) : undefined;
  }

  async begin(recordId: string): Promise<BeginResult> {
    const lock = await this.redlock.acquire([lockKey(recordId)], this.options.lockTtlMs).catch(async (error) => {
      throw await lockFailure(error, recordId);
    });
    const lease = new RedlockLease(recordId, lock, this.options.lockTtlMs);
    try {
      const stored = await this.find(recordId);
      if (!stored) return { lease };
      await lease.release();
      return { stored };
    } catch (error) {
      await lease.release().catch(() => undefined);
      throw error;
    }
  }

  async complete(lease: IdempotencyLease, response: StoredResponse, ttlMs: number): Promise<void> {
    try {
      await this.redis.set(responseKey(lease.recordId), JSON.stringify(response), 'PX', ttlMs).catch(unavailable);
    } finally {
      await this.abandon(lease);
    }
  }

  async abandon(lease: IdempotencyLease): Promise<void> {
    // A failed release only means the lock lives until its TTL; the outcome (if any) is stored.
    await (lease as RedlockLease).release().catch(() => undefined);
  }
}

function unavailable(error: unknown): never {
  throw new IdempotencyStoreUnavailableError(error);
}

/** Redlock reports "someone holds it" and "nodes unreachable" alike; the votes tell them apart. */
async function lockFailure(error: unknown, recordId: string): Promise<Error> {
  if (error instanceof ExecutionError) {
    const attempts = await Promise.all(error.attempts);
    const held = attempts.some((attempt) =>
      [...attempt.votesAgainst.values()].some((vote) => vote instanceof ResourceLockedError),
    );
    if (held) return new IdempotencyLockHeldError(recordId);
  }
  return new IdempotencyStoreUnavailableError(error);
}

/** Keeps a Redlock lock alive by extending it every third of its TTL until released. */
class RedlockLease implements IdempotencyLease {
  private readonly controller = new AbortController();
  private timer?: NodeJS.Timeout;
  private extension?: Promise<void>;
  private released = false;

  constructor(
    readonly recordId: string,
    private lock: Lock,
    private readonly ttlMs: number,
  ) {
    this.schedule();
  }

  get lost(): AbortSignal {
    return this.controller.signal;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearTimeout(this.timer);
    await this.extension;
    await this.lock.release();
  }

  private schedule(): void {
    this.timer = setTimeout(() => (this.extension = this.extend()), Math.floor(this.ttlMs / 3));
  }

  private async extend(): Promise<void> {
    try {
      this.lock = await this.lock.extend(this.ttlMs);
    } catch (error) {
      // Retry at the next tick while the lock may still be ours; once it has expired it is lost.
      if (this.lock.expiration <= Date.now()) {
        this.controller.abort(error);
        return;
      }
    }
    if (!this.released) this.schedule();
  }
}
